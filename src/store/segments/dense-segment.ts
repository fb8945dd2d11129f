import type { ScoredRow } from "../index-store.ts";
import { DotKernel } from "./dot-kernel.ts";
import { trainIvf } from "./ivf.ts";
import { maskOf, shared } from "./lexical-segment.ts";
import { TopK } from "./top-k.ts";

/** When a dense segment gets an IVF index, and how it is searched (`retrieval.segments.ann`). */
export interface AnnSettings {
  /** Segments of fewer vectors are searched exactly. */
  minVectors: number;
  /** IVF lists; 0: about √vectors. */
  lists: number;
  /** Lists a query scans; 0: {@link autoProbes}. */
  probes: number;
}

/**
 * Lists scanned per query when the settings say 0: an eighth of them, at least 8. On the bundled
 * static embedder's vectors of Debian descriptions that finds about 0.95 of the exact top 10
 * (`npm run bench:segments`).
 */
export const autoProbes = (lists: number): number => Math.min(lists, Math.max(8, Math.ceil(lists / 8)));

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

  /**
   * The segment; with `ann` and at least `ann.minVectors` vectors, with an IVF index: the rows
   * are stored list after list, so each probed list is one contiguous run of the kernel.
   */
  build(ann?: AnnSettings): DenseSegment {
    const dims = this.dimensions;
    const rows = this.#rowids.length;
    const vectors = this.#vectors.subarray(0, rows * dims);
    const rowids = Float64Array.from(this.#rowids);
    const layout = ann && rows >= ann.minVectors ? trainIvf(vectors, rows, dims, { lists: ann.lists }) : null;
    if (!ann || !layout) return DenseSegment.fromWire({ dimensions: dims, rowids, vectors });
    const permuted = new Float32Array(rows * dims);
    const ids = new Float64Array(rows);
    // Rows arrive in rowid order: byRowid[i] is where the i-th smallest rowid now sits.
    const byRowid = new Int32Array(rows);
    for (let p = 0; p < rows; p++) {
      const r = layout.order[p]!;
      permuted.set(vectors.subarray(r * dims, (r + 1) * dims), p * dims);
      ids[p] = rowids[r]!;
      byRowid[r] = p;
    }
    const lists = layout.listStart.length - 1;
    return DenseSegment.fromWire({
      dimensions: dims,
      rowids: ids,
      vectors: permuted,
      byRowid,
      ivf: {
        centroids: layout.centroids,
        listStart: layout.listStart,
        probes: ann.probes > 0 ? Math.min(ann.probes, lists) : autoProbes(lists),
      },
    });
  }
}

/** A dense segment as it crosses threads (arrays on SharedArrayBuffers). */
export interface DenseWire {
  dimensions: number;
  rowids: Float64Array;
  /** Unit-length, row after row. */
  vectors: Float32Array;
  /** With an IVF index: the row positions in ascending rowid order (rows are in list order). */
  byRowid?: Int32Array;
  ivf?: IvfWire;
}

/** An IVF index over a segment's rows: list `l` is rows `listStart[l] .. listStart[l + 1]`. */
export interface IvfWire {
  centroids: Float32Array;
  listStart: Int32Array;
  /** Lists a query scans. */
  probes: number;
}

interface Ivf {
  centroids: DotKernel;
  listStart: Int32Array;
  probes: number;
}

/**
 * Cosine search over one collection version's vectors, held unit-length in one Float32Array so a
 * query is a straight scan of dot products (no per-row decoding or norms, as sqlite-vec's vec0
 * does), four lanes at a time in WebAssembly SIMD ({@link DotKernel}) where the dimensions allow,
 * else in JavaScript. Exact, unless the segment was built with an IVF index (large collections,
 * `retrieval.segments.ann`): then a query scans only the lists of its nearest centroids, and a
 * filtered query stays exact. Scores are cosine similarity, as the SQLite index returns them (to
 * float32 precision).
 *
 * @example
 * const rows = segment.search(queryVector, 10); // [{ rowid, score }], best first
 */
export class DenseSegment {
  readonly dimensions: number;
  readonly #rowids: Float64Array;
  readonly #vectors: Float32Array;
  readonly #kernel: DotKernel | null;
  readonly #byRowid: Int32Array | null;
  readonly #ivf: Ivf | null;

  constructor(
    dimensions: number,
    rowids: Float64Array,
    vectors: Float32Array,
    kernel: DotKernel | null = null,
    ivf: { byRowid: Int32Array; index: Ivf } | null = null,
  ) {
    this.dimensions = dimensions;
    this.#rowids = rowids;
    this.#vectors = vectors;
    this.#kernel = kernel;
    this.#byRowid = ivf?.byRowid ?? null;
    this.#ivf = ivf?.index ?? null;
  }

  /** A segment over unit vectors: copied into a SIMD kernel's memory where it can run, else kept. */
  static fromWire(wire: DenseWire): DenseSegment {
    const rows = wire.rowids.length;
    const kernel = DotKernel.create(wire.dimensions, rows);
    kernel?.vectors.set(wire.vectors.subarray(0, rows * wire.dimensions));
    const vectors = kernel ? kernel.vectors : wire.vectors.slice(0, rows * wire.dimensions);
    let ivf: { byRowid: Int32Array; index: Ivf } | null = null;
    if (wire.ivf && wire.byRowid) {
      const lists = wire.ivf.listStart.length - 1;
      const centroids = DotKernel.create(wire.dimensions, lists);
      if (!centroids) throw new Error("an IVF segment needs the SIMD kernel (dimensions a multiple of 8)");
      centroids.vectors.set(wire.ivf.centroids);
      ivf = { byRowid: wire.byRowid, index: { centroids, listStart: wire.ivf.listStart, probes: wire.ivf.probes } };
    }
    return new DenseSegment(wire.dimensions, wire.rowids, vectors, kernel, ivf);
  }

  toWire(): DenseWire {
    const wire: DenseWire = {
      dimensions: this.dimensions,
      rowids: shared(this.#rowids),
      vectors: shared(this.#vectors),
    };
    if (this.#ivf && this.#byRowid) {
      wire.byRowid = shared(this.#byRowid);
      wire.ivf = {
        centroids: shared(this.#ivf.centroids.vectors),
        listStart: shared(this.#ivf.listStart),
        probes: this.#ivf.probes,
      };
    }
    return wire;
  }

  /** The IVF index's lists and default probes, or null: searches are exact. */
  get ann(): { lists: number; probes: number } | null {
    return this.#ivf ? { lists: this.#ivf.listStart.length - 1, probes: this.#ivf.probes } : null;
  }

  /** Whether searches run in the WebAssembly SIMD kernel. */
  get simd(): boolean {
    return this.#kernel !== null;
  }

  get rows(): number {
    return this.#rowids.length;
  }

  get bytes(): number {
    const ivf = this.#ivf ? this.#ivf.centroids.vectors.byteLength + this.#ivf.listStart.byteLength : 0;
    return this.#rowids.byteLength + this.#vectors.byteLength + (this.#byRowid?.byteLength ?? 0) + ivf;
  }

  /** A mask of this segment's rows for `search`'s `allow`, from rowids in ascending order. */
  maskOf(rowids: readonly number[]): Uint8Array {
    return maskOf(this.#rowids, rowids, this.#byRowid ?? undefined);
  }

  /**
   * The `k` nearest rows; `allow` (one byte per row) keeps only the rows it marks. With an IVF
   * index, an unfiltered query scans `probes` lists (default the segment's); a filtered one
   * scans every allowed row, so a selective filter loses nothing.
   */
  search(query: Float32Array, k: number, allow?: Uint8Array, probes?: number): ScoredRow[] {
    const dims = this.dimensions;
    if (query.length !== dims) throw new Error(`query has ${query.length} dimensions; the segment holds ${dims}`);
    let norm = 0;
    for (let i = 0; i < dims; i++) norm += query[i]! * query[i]!;
    norm = Math.sqrt(norm) || 1;
    const q = Float32Array.from(query, (v) => v / norm);
    const top = new TopK(k);
    const rowids = this.#rowids;
    if (this.#kernel && this.#ivf && !allow) this.#probe(this.#kernel, this.#ivf, q, top, probes ?? this.#ivf.probes);
    else if (this.#kernel) {
      const scores = this.#kernel.scores(q);
      for (let r = 0; r < scores.length; r++) if (!allow || allow[r] === 1) top.offer(scores[r]!, rowids[r]!);
    } else this.#scan(q, top, allow);
    return top.sorted().map(({ score, id }) => ({ rowid: id, score }));
  }

  /** Scans the lists of the `probes` centroids nearest to `q`. */
  #probe(kernel: DotKernel, ivf: Ivf, q: Float32Array, top: TopK, probes: number): void {
    const near = new TopK(Math.max(1, probes));
    const centroidScores = ivf.centroids.scores(q);
    for (let c = 0; c < centroidScores.length; c++) near.offer(centroidScores[c]!, c);
    kernel.setQuery(q);
    const scores = kernel.out;
    const rowids = this.#rowids;
    for (const { id: list } of near.sorted()) {
      const start = ivf.listStart[list]!;
      const end = ivf.listStart[list + 1]!;
      if (end === start) continue;
      kernel.scoreRange(start, end);
      for (let r = start; r < end; r++) top.offer(scores[r]!, rowids[r]!);
    }
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
      top.offer(s0 + s1 + s2 + s3, this.#rowids[r]!);
    }
  }
}
