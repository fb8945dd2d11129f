/**
 * What the static embedder removes from every word vector: the table's mean and its first
 * principal component (the direction all words share, which otherwise dominates every sum).
 */
export interface CommonComponent {
  mean: Float32Array;
  /** Unit length. */
  component: Float32Array;
}

/**
 * The mean of `rows` and the first principal component of the centred rows, by power iteration
 * from a fixed start (so the same table always gives the same result).
 *
 * @example
 * const common = commonComponent(pieceVectors);
 * const clean = removeCommon(common, wordVector);
 */
export function commonComponent(rows: readonly Float32Array[], iterations = 100): CommonComponent {
  const d = rows[0]?.length ?? 0;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j]! += r[j]!;
  for (let j = 0; j < d; j++) mean[j]! /= Math.max(1, rows.length);

  let v = new Float64Array(d).map((_, j) => 1 + ((j * 7919) % 13) / 13); // fixed, not orthogonal to much
  normalize(v);
  for (let it = 0; it < iterations; it++) {
    const next = new Float64Array(d);
    for (const r of rows) {
      let dot = 0;
      for (let j = 0; j < d; j++) dot += (r[j]! - mean[j]!) * v[j]!;
      for (let j = 0; j < d; j++) next[j]! += dot * (r[j]! - mean[j]!);
    }
    normalize(next);
    let change = 0;
    for (let j = 0; j < d; j++) change += Math.abs(next[j]! - v[j]!);
    v = next;
    if (change < 1e-6) break;
  }
  return { mean: Float32Array.from(mean), component: Float32Array.from(v) };
}

/**
 * `x − mean`, with its projection on the component removed (a new array).
 *
 * @example
 * const clean = removeCommon(common, teacherVector);
 */
export function removeCommon({ mean, component }: CommonComponent, x: Float32Array): Float32Array {
  const y = new Float32Array(x.length);
  let dot = 0;
  for (let j = 0; j < x.length; j++) {
    y[j] = x[j]! - mean[j]!;
    dot += y[j]! * component[j]!;
  }
  for (let j = 0; j < x.length; j++) y[j]! -= dot * component[j]!;
  return y;
}

function normalize(v: Float64Array): void {
  let n = 0;
  for (const x of v) n += x * x;
  n = Math.sqrt(n) || 1;
  for (let j = 0; j < v.length; j++) v[j]! /= n;
}
