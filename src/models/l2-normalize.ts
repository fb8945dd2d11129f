/**
 * Copies `values` into a new Float32Array scaled to unit L2 length. A zero vector (or one with a
 * non-finite norm) comes back as zeros: it has no direction to keep.
 *
 * @example
 * l2Normalize([3, 4]); // Float32Array [0.6, 0.8]
 */
export function l2Normalize(values: ArrayLike<number>): Float32Array {
  const out = new Float32Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    sum += v * v;
  }
  const norm = Math.sqrt(sum);
  if (norm === 0 || !Number.isFinite(norm)) return out;
  for (let i = 0; i < values.length; i++) out[i] = (values[i] ?? 0) / norm;
  return out;
}

/**
 * Normalises a Float32Array in place and returns it (no copy), for backends that build their own
 * buffers.
 *
 * @example
 * const v = new Float32Array([0, 2]);
 * l2NormalizeInPlace(v); // v is now [0, 1]
 */
export function l2NormalizeInPlace(values: Float32Array): Float32Array {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (values[i] as number) * (values[i] as number);
  const norm = Math.sqrt(sum);
  if (norm === 0 || !Number.isFinite(norm)) return values.fill(0);
  for (let i = 0; i < values.length; i++) values[i] = (values[i] as number) / norm;
  return values;
}
