import { endianness } from "node:os";
import { SluiceError } from "../../contracts/errors.ts";

const LITTLE = endianness() === "LE";

/**
 * Packs vectors as count × dimensions little-endian float32 values, row-major (EmbedReply.vectors).
 *
 * @example
 * reply.vectors = encodeVectors(vectors, 512);
 */
export function encodeVectors(vectors: readonly Float32Array[], dimensions: number): Buffer {
  const out = Buffer.allocUnsafe(vectors.length * dimensions * 4);
  vectors.forEach((v, i) => {
    if (v.length !== dimensions)
      throw new SluiceError("MODEL_BAD_RESPONSE", `vector ${i} has ${v.length} values, expected ${dimensions}`);
    if (LITTLE) out.set(new Uint8Array(v.buffer, v.byteOffset, v.byteLength), i * dimensions * 4);
    else for (let j = 0; j < dimensions; j++) out.writeFloatLE(v[j]!, (i * dimensions + j) * 4);
  });
  return out;
}

/**
 * Unpacks EmbedReply.vectors into one Float32Array per text (views over one aligned copy).
 *
 * @example
 * const vectors = decodeVectors(reply.vectors, reply.count, reply.dimensions);
 */
export function decodeVectors(bytes: Uint8Array, count: number, dimensions: number): Float32Array[] {
  if (bytes.byteLength !== count * dimensions * 4) {
    throw new SluiceError(
      "MODEL_BAD_RESPONSE",
      `vector payload has ${bytes.byteLength} bytes, expected ${count} × ${dimensions} × 4`,
    );
  }
  // The received buffer may sit at any offset; one copy gives Float32Array the alignment it needs.
  const all = new Float32Array(count * dimensions);
  if (LITTLE) new Uint8Array(all.buffer).set(bytes);
  else {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < all.length; i++) all[i] = view.getFloat32(i * 4, true);
  }
  return Array.from({ length: count }, (_, i) => all.subarray(i * dimensions, (i + 1) * dimensions));
}
