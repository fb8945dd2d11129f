/**
 * The messages between `ThreadedEmbedder` (main thread) and `embedder-thread.ts` (each worker
 * thread). Only plain data crosses: errors travel as `ErrorWire` (`contracts/error-wire.ts`)
 * because class instances do not survive the structured clone, and vectors as one transferred
 * ArrayBuffer.
 */
import type { EmbedderConfig } from "../config/schema.ts";
import type { ErrorWire } from "../contracts/error-wire.ts";
import { SluiceError } from "../contracts/errors.ts";
import type { EmbedOptions, ModelParams } from "./ports.ts";

/** What a thread is started with (`workerData`): the embedder it builds with `createEmbedder`. */
export interface EmbedderThreadData {
  config: EmbedderConfig;
  dataDir?: string;
}

/** What the inner embedder says about itself once warm; the proxy shows it as its own. */
export interface EmbedderInfo {
  id: string;
  dimensions: number;
  languages?: readonly string[];
}

export type ToThread =
  | { type: "warmUp"; id: number }
  | { type: "embed"; id: number; texts: readonly string[]; kind?: EmbedOptions["kind"]; params?: ModelParams }
  /** The caller went away: abort the call's signal inside the thread (its reply is dropped anyway). */
  | { type: "abort"; id: number }
  | { type: "close"; id: number };

export type FromThread =
  | { id: number; ok: true; info: EmbedderInfo }
  /** `count` vectors of `dimensions` floats each, packed in order in `vectors`. */
  | { id: number; ok: true; vectors: ArrayBuffer; count: number; dimensions: number }
  | { id: number; ok: true }
  | { id: number; ok: false; error: ErrorWire };

/**
 * Packs vectors into one buffer (to transfer, not copy, across threads).
 *
 * @example
 * const packed = packVectors(vectors, embedder.dimensions);
 * port.postMessage({ id, ok: true, ...packed }, [packed.vectors]);
 */
export function packVectors(
  vectors: readonly Float32Array[],
  dimensions: number,
): { vectors: ArrayBuffer; count: number; dimensions: number } {
  const all = new Float32Array(vectors.length * dimensions);
  vectors.forEach((v, i) => {
    if (v.length !== dimensions)
      throw new SluiceError("MODEL_BAD_RESPONSE", `vector ${i} has ${v.length} dimensions, expected ${dimensions}`);
    all.set(v, i * dimensions);
  });
  return { vectors: all.buffer, count: vectors.length, dimensions };
}

/**
 * The vectors of a packed buffer, as views into it (no copy), as the gRPC client returns them.
 *
 * @example
 * const vectors = unpackVectors(reply.vectors, reply.count, reply.dimensions);
 */
export function unpackVectors(buffer: ArrayBuffer, count: number, dimensions: number): Float32Array[] {
  const all = new Float32Array(buffer);
  if (all.length !== count * dimensions)
    throw new SluiceError(
      "MODEL_BAD_RESPONSE",
      `embedder thread sent ${all.length} floats for ${count} × ${dimensions}`,
    );
  return Array.from({ length: count }, (_, i) => all.subarray(i * dimensions, (i + 1) * dimensions));
}
