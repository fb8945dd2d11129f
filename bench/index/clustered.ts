import { DotKernel } from "../../src/store/segments/dot-kernel.ts";
import { seededRandom } from "../../src/store/segments/seeded-random.ts";
import { TopK } from "../../src/store/segments/top-k.ts";

/** Standard normal draws (Box-Muller) from a seeded uniform generator. */
function gaussian(seed: number): () => number {
  const random = seededRandom(seed);
  let spare: number | null = null;
  return () => {
    if (spare !== null) {
      const s = spare;
      spare = null;
      return s;
    }
    const u = 1 - random(); // (0, 1]: log stays finite
    const v = random();
    const r = Math.sqrt(-2 * Math.log(u));
    spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  };
}

export interface ClusteredOptions {
  rows: number;
  dimensions: number;
  clusters: number;
  /** Standard deviation of a point's offset from its centre, per dimension (centres have 1). */
  noise: number;
  seed: number;
}

/**
 * Unit vectors in gaussian clusters, as embeddings come (uniform random high-dimensional points
 * have no near neighbours to find): `clusters` centres drawn N(0, 1) per dimension, each point a
 * random centre plus N(0, noise²) per dimension, normalised. Two points of one cluster have cosine
 * about 1 / (1 + noise²). All rows live in one Float32Array (row `i` is id `i + 1`), in the memory
 * of a SIMD dot-product kernel when WebAssembly SIMD is there, so the exact top k of a query is a
 * scan of every row ({@link exact}). Queries are drawn the same way from a generator of their own.
 *
 * @example
 * const set = new ClusteredVectors({ rows: 1_000_000, dimensions: 384, clusters: 2500, noise: 1, seed: 7 });
 * const truth = set.exact(set.queries(200)[0]!, 10);
 */
export class ClusteredVectors {
  readonly options: ClusteredOptions;
  readonly data: Float32Array;
  readonly #kernel: DotKernel | null;
  readonly #centres: Float32Array;
  readonly #centreOf: () => number;
  readonly #gauss: () => number;

  constructor(options: ClusteredOptions) {
    this.options = options;
    const { rows, dimensions, clusters, seed } = options;
    this.#kernel = DotKernel.create(dimensions, rows);
    this.data = this.#kernel ? this.#kernel.vectors : new Float32Array(rows * dimensions);
    const gauss = gaussian(seed);
    this.#centres = Float32Array.from({ length: clusters * dimensions }, gauss);
    const pick = seededRandom(seed + 1);
    this.#centreOf = () => Math.floor(pick() * clusters);
    this.#gauss = gaussian(seed + 2);
  }

  /** Fills rows [start, end) (call in order, in chunks, to report progress). */
  generate(start: number, end: number): void {
    for (let r = start; r < end; r++) this.#draw(this.data.subarray(r * this.dim, (r + 1) * this.dim));
  }

  get dim(): number {
    return this.options.dimensions;
  }

  /** Row `id - 1`: the vector stored under `id`. */
  row(id: number): Float32Array {
    return this.data.subarray((id - 1) * this.dim, id * this.dim);
  }

  /** `n` query vectors drawn like the rows but not among them. */
  queries(n: number, seed = this.options.seed + 100): Float32Array[] {
    const other = new ClusteredVectors({ ...this.options, rows: 0, seed });
    // The same centres: only the points differ.
    other.#centres.set(this.#centres);
    return Array.from({ length: n }, () => other.#draw(new Float32Array(this.dim)));
  }

  #draw(out: Float32Array): Float32Array {
    const dims = this.dim;
    const base = this.#centreOf() * dims;
    const noise = this.options.noise;
    let norm = 0;
    for (let j = 0; j < dims; j++) {
      const v = this.#centres[base + j]! + noise * this.#gauss();
      out[j] = v;
      norm += v * v;
    }
    const scale = 1 / Math.sqrt(norm);
    for (let j = 0; j < dims; j++) out[j] = out[j]! * scale;
    return out;
  }

  dot(query: Float32Array, id: number): number {
    const row = this.row(id);
    let s = 0;
    for (let j = 0; j < this.dim; j++) s += query[j]! * row[j]!;
    return s;
  }

  /** The exact top `k` by dot product (= cosine: rows and queries are unit vectors), best first. */
  exact(query: Float32Array, k: number): Array<{ id: number; score: number }> {
    const top = new TopK(k);
    const rows = this.options.rows;
    if (this.#kernel) {
      const scores = this.#kernel.scores(query);
      for (let r = 0; r < rows; r++) if (scores[r]! > top.threshold) top.offer(scores[r]!, r + 1);
    } else {
      for (let r = 0; r < rows; r++) top.offer(this.dot(query, r + 1), r + 1);
    }
    return top.sorted();
  }

  /**
   * recall@k of `found` against the exact `truth` (best first): a found id counts when its true
   * score reaches the k-th exact score (less 1e-5 for float rounding), so ties at the boundary do
   * not count as misses (as ann-benchmarks counts).
   */
  recall(query: Float32Array, found: readonly number[], truth: ReadonlyArray<{ score: number }>, k: number): number {
    const kth = truth[Math.min(k, truth.length) - 1]?.score ?? -Infinity;
    const hits = [...new Set(found.slice(0, k))].filter((id) => this.dot(query, id) >= kth - 1e-5).length;
    return Math.min(k, hits) / Math.min(k, truth.length);
  }
}
