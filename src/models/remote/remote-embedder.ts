import { SluiceError } from "../../contracts/errors.ts";
import type { DenseEmbedder, EmbedOptions } from "../ports.ts";
import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { CallTimingWire, EmbedReplyWire, ModelInfoWire } from "./messages.ts";
import { unannouncedId } from "./remote-model.ts";
import { decodeVectors } from "./vector-bytes.ts";
import { kindToWire, paramsToWire } from "./wire-params.ts";

export interface EmbedWithTiming {
  vectors: Float32Array[];
  /** Server-measured queue and model time of this call. */
  timing: CallTimingWire | null;
}

/**
 * The model server's dense embedder behind the `DenseEmbedder` port. `warmUp()` asks the server
 * (Info) which model it serves, so `id`, `dimensions` and `languages` are the server's: a
 * collection embedded in-process with the same model can be queried remotely and vice versa. A
 * reply from another model than the one announced (the server restarted with a new config) is
 * refused rather than mixed into a collection. Before `warmUp()` (which `embed()` does first) no
 * network call is made to read them: `id` is `unannouncedId` (the configured address, never a
 * model id a collection stores), `dimensions` is 0 and `languages` undefined.
 *
 * @example
 * const embedder = new RemoteEmbedder(client);
 * await embedder.warmUp();
 * const [vector] = await embedder.embed(["resume a failed job"], { kind: "query" });
 */
export class RemoteEmbedder implements DenseEmbedder {
  readonly #client: GrpcModelClient;
  #info: ModelInfoWire | undefined;

  constructor(client: GrpcModelClient) {
    this.#client = client;
  }

  #announced(): ModelInfoWire {
    if (!this.#info)
      throw new SluiceError(
        "INTERNAL",
        `remote embedder at ${this.#client.address}: no model announced after warmUp()`,
      );
    return this.#info;
  }

  /** The server's model after `warmUp()`; before it, `remote:<address>/embed`. */
  get id(): string {
    return this.#info?.model ?? unannouncedId(this.#client.address, "embed");
  }

  /** The server model's width after `warmUp()`; 0 before it. */
  get dimensions(): number {
    return this.#info?.dimensions ?? 0;
  }

  get languages(): readonly string[] | undefined {
    const languages = this.#info?.languages ?? [];
    return languages.length > 0 ? languages : undefined;
  }

  async warmUp(): Promise<void> {
    if (this.#info) return;
    const model = await this.#client.announced("embed", "dense embedder");
    if (model.dimensions === 0) {
      // Some backends learn their width only when loaded (ONNX reads hidden_size): ask one vector.
      const probe = await this.#client.call<EmbedReplyWire>("embed", "Embed", {
        texts: ["dimensions"],
        kind: "TEXT_KIND_PASSAGE",
      });
      this.#info = { ...model, model: probe.model, dimensions: probe.dimensions };
      return;
    }
    this.#info = model;
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    return (await this.embedWithTiming(texts, options)).vectors;
  }

  /** `embed` plus the server's timing of the call (benchmarks subtract it to isolate RPC cost). */
  async embedWithTiming(texts: readonly string[], options: EmbedOptions = {}): Promise<EmbedWithTiming> {
    options.signal?.throwIfAborted();
    if (texts.length === 0) return { vectors: [], timing: null };
    await this.warmUp();
    const request = { texts, kind: kindToWire(options.kind), params: paramsToWire(options.params) };
    const reply = await this.#client.call<EmbedReplyWire>("embed", "Embed", request, options);
    const expected = this.#announced();
    if (reply.model !== expected.model || reply.dimensions !== expected.dimensions) {
      throw new SluiceError(
        "MODEL_BAD_RESPONSE",
        `model server ${this.#client.address} answered with ${reply.model} (${reply.dimensions}-d) but announced ${expected.model} (${expected.dimensions}-d); restart this process to pick up the new model`,
      );
    }
    if (reply.count !== texts.length)
      throw new SluiceError(
        "MODEL_BAD_RESPONSE",
        `model server ${this.#client.address} returned ${reply.count} vectors for ${texts.length} texts`,
      );
    return { vectors: decodeVectors(reply.vectors, reply.count, reply.dimensions), timing: reply.timing };
  }

  async close(): Promise<void> {
    // The channel belongs to the GrpcModelClient, which its owner closes.
  }
}
