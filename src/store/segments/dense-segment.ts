import type { ScoredRow } from "../index-store.ts";
import { DotKernel } from "./dot-kernel.ts";
import { maskOf, shared } from "./lexical-segment.ts";
import { TopK } from "./top-k.ts";

/**
 * Collects one collection's vectors, in rowid order, into a {@link DenseSegment}.
 *
 * @example
 * const builder = new DenseSegmentBuilder(256);
 * builder.add(1, vector);
 * const segment = builder.build();
 */
export class DenseSegmentBuilder {
  readonly dimensions: number;
  #vectors: Float32Array;
  readonly #rowids: number[] = [];

  constructor(dimensions: number) {
    this.dimensions = dimensions;
    this.#vectors = new Float32Array(dimensions * 1024);
  }

  add(rowid: number, vector: Float32Array): void {
    if (vector.length !== this.dimensions)
      throw new Error(`vector of row ${rowid} has ${vector.length} dimensions; the segment holds ${this.dimensions}`);
    const at = this.#rowids.length * this.dimensions;
    if (at + this.dimensions > this.#vectors.length) {
      const grown = new Float32Array(this.#vectors.length * 2);
      grown.set(this.#vectors);
      this.#vectors = grown;
    }
    let norm = 0;
    for (let i = 0; i < vector.length; i++) norm += vector[i]! * vector[i]!;
    norm = Math.sqrt(norm) || 1;
    for (let i = 0; i < vector.length; i++) this.#vectors[at + i] = vector[i]! / norm;
    this.#rowids.push(rowid);
  }

  build(): DenseSegment {
    const used = this.#rowids.length * this.dimensions;
    return DenseSegment.fromWire({
      dimensions: this.dimensions,
      rowids: Float64Array.from(this.#rowids),
      vectors: this.#vectors.subarray(0, used),
    });
  }
}

/** A dense segment as it crosses threads (arrays on SharedArrayBuffers). */
export interface DenseWire {
  dimensions: number;
  rowids: Float64Array;
  /** Unit-length, row after row. */
  vectors: Float32Array;
}

/**
 * Exact cosine search over one collection version's vectors, held unit-length in one
 * Float32Array so a query is a straight scan of dot products (no per-row decoding or norms, as
 * sqlite-vec's vec0 does), four lanes at a time in WebAssembly SIMD ({@link DotKernel}) where the
 * dimensions allow, else in JavaScript. Scores are cosine similarity, as the SQLite index returns
 * them (to float32 precision).
 *
 * @example
 * const rows = segment.search(queryVector, 10); // [{ rowid, score }], best first
 */
export class DenseSegment {
  readonly dimensions: number;
  readonly #rowids: Float64Array;
  readonly #vectors: Float32Array;
  readonly #kernel: DotKernel | null;

  constructor(dimensions: number, rowids: Float64Array, vectors: Float32Array, kernel: DotKernel | null = null) {
    this.dimensions = dimensions;
    this.#rowids = rowids;
    this.#vectors = vectors;
    this.#kernel = kernel;
  }

  /** A segment over unit vectors: copied into a SIMD kernel's memory where it can run, else kept. */
  static fromWire(wire: DenseWire): DenseSegment {
    const rows = wire.rowids.length;
    const kernel = DotKernel.create(wire.dimensions, rows);
    kernel?.vectors.set(wire.vectors.subarray(0, rows * wire.dimensions));
    const vectors = kernel ? kernel.vectors : wire.vectors.slice(0, rows * wire.dimensions);
    return new DenseSegment(wire.dimensions, wire.rowids, vectors, kernel);
  }

  toWire(): DenseWire {
    return { dimensions: this.dimensions, rowids: shared(this.#rowids), vectors: shared(this.#vectors) };
  }

  /** Whether searches run in the WebAssembly SIMD kernel. */
  get simd(): boolean {
    return this.#kernel !== null;
  }

  get rows(): number {
    return this.#rowids.length;
  }

  get bytes(): number {
    return this.#rowids.byteLength + this.#vectors.byteLength;
  }

  /** A mask of this segment's rows for `search`'s `allow`, from rowids in ascending order. */
  maskOf(rowids: readonly number[]): Uint8Array {
    return maskOf(this.#rowids, rowids);
  }

  /** The `k` nearest rows; `allow` (one byte per row) keeps only the rows it marks. */
  search(query: Float32Array, k: number, allow?: Uint8Array): ScoredRow[] {
    const dims = this.dimensions;
    if (query.length !== dims) throw new Error(`query has ${query.length} dimensions; the segment holds ${dims}`);
    let norm = 0;
    for (let i = 0; i < dims; i++) norm += query[i]! * query[i]!;
    norm = Math.sqrt(norm) || 1;
    const q = Float32Array.from(query, (v) => v / norm);
    const top = new TopK(k);
    if (this.#kernel) {
      const scores = this.#kernel.scores(q);
      for (let r = 0; r < scores.length; r++) if (!allow || allow[r] === 1) top.offer(scores[r]!, r);
    } else this.#scan(q, top, allow);
    return top.sorted().map(({ score, id }) => ({ rowid: this.#rowids[id]!, score }));
  }

  #scan(q: Float32Array, top: TopK, allow: Uint8Array | undefined): void {
    const dims = this.dimensions;
    const v = this.#vectors;
    const tail = dims & ~3;
    for (let r = 0, o = 0; r < this.#rowids.length; r++, o += dims) {
      if (allow && allow[r] === 0) continue;
      // Four accumulators: the adds do not wait on each other.
      let s0 = 0;
      let s1 = 0;
      let s2 = 0;
      let s3 = 0;
      let j = 0;
      for (; j < tail; j += 4) {
        s0 += v[o + j]! * q[j]!;
        s1 += v[o + j + 1]! * q[j + 1]!;
        s2 += v[o + j + 2]! * q[j + 2]!;
        s3 += v[o + j + 3]! * q[j + 3]!;
      }
      for (; j < dims; j++) s0 += v[o + j]! * q[j]!;
      top.offer(s0 + s1 + s2 + s3, r);
    }
  }
}
