import { DotKernel } from "./dot-kernel.ts";
import { seededRandom } from "./seeded-random.ts";

/** How an IVF layout is trained. */
export interface IvfSettings {
  /** Lists (cells) the vectors are split into; 0: about √rows. */
  lists: number;
  /** Rounds of spherical k-means over the sample (default 8). */
  iterations?: number;
  /** Vectors the centroids are trained on (default 64 per list, at most every row). */
  sample?: number;
  /** The sample's and the first centroids' random seed (default 1): the same input, the same layout. */
  seed?: number;
}

/** Rows grouped by their nearest centroid: list `l` holds `order[listStart[l] .. listStart[l + 1])`. */
export interface IvfLayout {
  /** `lists × dimensions`, each unit-length. */
  centroids: Float32Array;
  /** Row indexes of the input, list after list (ascending within a list). */
  order: Int32Array;
  listStart: Int32Array;
}

/** The lists an IVF layout of `rows` vectors gets when its settings say 0: about √rows, at least 1. */
export const autoLists = (rows: number): number => Math.max(1, Math.round(Math.sqrt(rows)));

/**
 * Trains an inverted-file layout over unit vectors (row after row): spherical k-means on a seeded
 * sample, then every row goes to the list of its nearest centroid. Centroid scores run in the
 * SIMD dot kernel, so `dimensions` must be a multiple of 8 (null otherwise).
 *
 * @example
 * const layout = trainIvf(unitVectors, 64_000, 256, { lists: 0 }); // 253 lists
 */
export function trainIvf(vectors: Float32Array, rows: number, dims: number, settings: IvfSettings): IvfLayout | null {
  const lists = Math.min(rows, settings.lists > 0 ? settings.lists : autoLists(rows));
  const kernel = DotKernel.create(dims, lists);
  if (!kernel || rows === 0) return null;
  const random = seededRandom(settings.seed ?? 1);
  const sample = sampleRows(rows, Math.min(rows, settings.sample ?? lists * 64), random);
  const row = (r: number) => vectors.subarray(r * dims, (r + 1) * dims);
  const centroids = kernel.vectors;
  for (let c = 0; c < lists; c++) centroids.set(row(sample[c]!), c * dims);
  const sums = new Float64Array(lists * dims);
  const counts = new Int32Array(lists);
  for (let round = 0; round < (settings.iterations ?? 8); round++) {
    sums.fill(0);
    counts.fill(0);
    for (const r of sample) {
      const c = nearest(kernel, row(r));
      counts[c]!++;
      const v = row(r);
      for (let j = 0, o = c * dims; j < dims; j++) sums[o + j]! += v[j]!;
    }
    for (let c = 0; c < lists; c++) {
      const o = c * dims;
      // An empty list starts again from a random sample vector.
      if (counts[c] === 0) centroids.set(row(sample[Math.floor(random() * sample.length)]!), o);
      else normalizeInto(sums, o, dims, centroids);
    }
  }
  const assigned = new Int32Array(rows);
  const sizes = new Int32Array(lists + 1);
  for (let r = 0; r < rows; r++) {
    const c = nearest(kernel, row(r));
    assigned[r] = c;
    sizes[c + 1]!++;
  }
  const listStart = new Int32Array(lists + 1);
  for (let c = 0; c < lists; c++) listStart[c + 1] = listStart[c]! + sizes[c + 1]!;
  const next = listStart.slice(0, lists);
  const order = new Int32Array(rows);
  for (let r = 0; r < rows; r++) order[next[assigned[r]!]!++] = r;
  return { centroids: centroids.slice(), order, listStart };
}

function nearest(kernel: DotKernel, vector: Float32Array): number {
  const scores = kernel.scores(vector);
  let best = 0;
  for (let c = 1; c < scores.length; c++) if (scores[c]! > scores[best]!) best = c;
  return best;
}

function normalizeInto(sums: Float64Array, offset: number, dims: number, out: Float32Array): void {
  let norm = 0;
  for (let j = 0; j < dims; j++) norm += sums[offset + j]! * sums[offset + j]!;
  norm = Math.sqrt(norm) || 1;
  for (let j = 0; j < dims; j++) out[offset + j] = sums[offset + j]! / norm;
}

/** `n` distinct rows of `rows`, in random order (a partial Fisher–Yates shuffle). */
function sampleRows(rows: number, n: number, random: () => number): Int32Array {
  const all = new Int32Array(rows);
  for (let i = 0; i < rows; i++) all[i] = i;
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (rows - i));
    const t = all[i]!;
    all[i] = all[j]!;
    all[j] = t;
  }
  return all.subarray(0, n);
}
