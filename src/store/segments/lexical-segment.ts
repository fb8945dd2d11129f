import type { ScoredRow } from "../index-store.ts";
import { TopK } from "./top-k.ts";

// FTS5's bm25() constants and formula, so a segment ranks exactly as the SQLite index does.
const K1 = 1.2;
const B = 0.75;
/** FTS5's `ascii` tokenizer splits on every ASCII character that is not a letter or a digit. */
const ASCII_SEPARATOR = /[\x00-\x2f\x3a-\x40\x5b-\x60\x7b-\x7f]+/;

/** The tokens FTS5 indexes for one analyzed term (almost always the term itself). */
function ftsTokens(term: string): string[] {
  return ASCII_SEPARATOR.test(term) ? term.split(ASCII_SEPARATOR).filter(Boolean) : [term];
}

/**
 * Collects one collection's chunks, in rowid order, into a {@link LexicalSegment}.
 *
 * @example
 * const builder = new LexicalSegmentBuilder();
 * builder.add(1, analyze("resume a failed job"));
 * const segment = builder.build();
 */
export class LexicalSegmentBuilder {
  readonly #rowids: number[] = [];
  readonly #lengths: number[] = [];
  /** term → interleaved (local doc, tf) pairs. */
  readonly #postings = new Map<string, number[]>();
  #tokens = 0;

  add(rowid: number, terms: readonly string[]): void {
    const doc = this.#rowids.length;
    const tf = new Map<string, number>();
    let length = 0;
    for (const term of terms)
      for (const token of ftsTokens(term)) {
        tf.set(token, (tf.get(token) ?? 0) + 1);
        length++;
      }
    this.#rowids.push(rowid);
    this.#lengths.push(length);
    this.#tokens += length;
    for (const [token, f] of tf) {
      const list = this.#postings.get(token);
      if (list) list.push(doc, f);
      else this.#postings.set(token, [doc, f]);
    }
  }

  /**
   * `totals`: the index's own N and token count when they differ from the rows added (FTS5 keeps
   * deleted rows in them); by default the rows added.
   */
  build(totals?: { rows: number; tokens: number }): LexicalSegment {
    const n = this.#rowids.length;
    const rows = totals?.rows || n;
    const avgdl = rows === 0 ? 1 : (totals ? totals.tokens : this.#tokens) / rows || 1;
    const norm = new Float64Array(n);
    for (let d = 0; d < n; d++) norm[d] = K1 * (1 - B + (B * this.#lengths[d]!) / avgdl);
    const terms = new Map<string, number>();
    const offsets = new Uint32Array(this.#postings.size + 1);
    let total = 0;
    for (const list of this.#postings.values()) total += list.length / 2;
    const docs = new Uint32Array(total);
    const tfs = new Uint16Array(total);
    const maxImpact = new Float64Array(this.#postings.size);
    let at = 0;
    for (const [term, list] of this.#postings) {
      const t = terms.size;
      terms.set(term, t);
      offsets[t] = at;
      let max = 0;
      for (let i = 0; i < list.length; i += 2) {
        const d = list[i]!;
        const f = Math.min(list[i + 1]!, 65535);
        docs[at] = d;
        tfs[at] = f;
        at++;
        const impact = (f * (K1 + 1)) / (f + norm[d]!);
        if (impact > max) max = impact;
      }
      maxImpact[t] = max;
    }
    offsets[terms.size] = at;
    return new LexicalSegment({
      rows,
      rowids: Float64Array.from(this.#rowids),
      norm,
      terms,
      offsets,
      docs,
      tfs,
      maxImpact,
    });
  }
}

/** A segment as it crosses threads: arrays on SharedArrayBuffers (shared, not copied), terms in order. */
export interface LexicalWire {
  rows: number;
  rowids: Float64Array;
  norm: Float64Array;
  terms: string[];
  offsets: Uint32Array;
  docs: Uint32Array;
  tfs: Uint16Array;
  maxImpact: Float64Array;
}

interface SegmentArrays {
  /** BM25's N. */
  rows: number;
  rowids: Float64Array;
  norm: Float64Array;
  terms: Map<string, number>;
  offsets: Uint32Array;
  docs: Uint32Array;
  tfs: Uint16Array;
  maxImpact: Float64Array;
}

/**
 * An in-memory inverted index of one collection version that answers BM25 top-k without
 * scoring every match (MaxScore: Turtle & Flood 1995). Query terms are ordered by their highest
 * possible contribution; once the k-th best score beats the sum of the smallest ones, documents
 * that only hold those terms are never visited, and the rest are scored only as far as they
 * can still enter the top k. Scores are FTS5's bm25() exactly (same idf, k1 1.2, b 0.75, the same
 * `ascii` tokens), so results equal the SQLite index's up to ties.
 *
 * @example
 * const rows = segment.search(analyze("resume a failed job"), 10); // [{ rowid, score }], best first
 */
export class LexicalSegment {
  readonly #a: SegmentArrays;

  constructor(arrays: SegmentArrays) {
    this.#a = arrays;
  }

  static fromWire(wire: LexicalWire): LexicalSegment {
    return new LexicalSegment({ ...wire, terms: new Map(wire.terms.map((t, i) => [t, i])) });
  }

  toWire(): LexicalWire {
    const a = this.#a;
    return {
      rows: a.rows,
      rowids: shared(a.rowids),
      norm: shared(a.norm),
      terms: [...a.terms.keys()],
      offsets: shared(a.offsets),
      docs: shared(a.docs),
      tfs: shared(a.tfs),
      maxImpact: shared(a.maxImpact),
    };
  }

  /** A mask of this segment's rows for `allow`, from rowids in ascending order. */
  maskOf(rowids: readonly number[]): Uint8Array {
    return maskOf(this.#a.rowids, rowids);
  }

  get documents(): number {
    return this.#a.rowids.length;
  }

  /** Bytes held by the segment's arrays (the term dictionary not counted). */
  get bytes(): number {
    const a = this.#a;
    return a.rowids.byteLength + a.norm.byteLength + a.offsets.byteLength + a.docs.byteLength + a.tfs.byteLength;
  }

  /**
   * The top `k` rows for the terms, OR-ed as the SQLite index does; null when a term would be a
   * multi-token phrase in FTS5 (punctuation inside a segmented word): the caller asks FTS5.
   * `work.scored` counts the documents scored; `allow` (one byte per row, {@link maskOf}) keeps
   * only the rows it marks.
   */
  search(queryTerms: readonly string[], k: number, work?: { scored: number }, allow?: Uint8Array): ScoredRow[] | null {
    const { rows: n, rowids, norm, terms, offsets, docs, tfs, maxImpact } = this.#a;
    const seen = new Set<number>();
    const lists: Array<{ idf: number; bound: number; start: number; end: number }> = [];
    for (const term of new Set(queryTerms)) {
      const tokens = ftsTokens(term);
      if (tokens.length > 1) return null;
      const t = tokens.length === 1 ? terms.get(tokens[0]!) : undefined;
      if (t === undefined || seen.has(t)) continue;
      seen.add(t);
      const start = offsets[t]!;
      const end = offsets[t + 1]!;
      const df = end - start;
      let idf = Math.log((n - df + 0.5) / (df + 0.5));
      if (idf <= 0) idf = 1e-6;
      lists.push({ idf, bound: idf * maxImpact[t]!, start, end });
    }
    if (lists.length === 0 || k <= 0) return [];
    lists.sort((x, y) => x.bound - y.bound);
    const m = lists.length;
    const idf = Float64Array.from(lists, (l) => l.idf);
    const end = Uint32Array.from(lists, (l) => l.end);
    const pos = Uint32Array.from(lists, (l) => l.start);
    // upTo[i]: the most lists 0..i together can add to a document's score.
    const upTo = new Float64Array(m);
    for (let i = 0, sum = 0; i < m; i++) upTo[i] = sum += lists[i]!.bound;

    const top = new TopK(k);
    let threshold = -Infinity;
    let essential = 0; // lists essential..m-1 must be walked; the others only probed
    for (;;) {
      let d = 0xffffffff;
      for (let i = essential; i < m; i++) if (pos[i]! < end[i]! && docs[pos[i]!]! < d) d = docs[pos[i]!]!;
      if (d === 0xffffffff) break;
      if (allow && allow[d] === 0) {
        // Filtered out: step past it without scoring.
        for (let i = essential; i < m; i++) if (pos[i]! < end[i]! && docs[pos[i]!] === d) pos[i]!++;
        continue;
      }
      if (work) work.scored++;
      let score = 0;
      for (let i = essential; i < m; i++) {
        const p = pos[i]!;
        if (p < end[i]! && docs[p] === d) {
          const f = tfs[p]!;
          score += (idf[i]! * (f * (K1 + 1))) / (f + norm[d]!);
          pos[i] = p + 1;
        }
      }
      for (let i = essential - 1; i >= 0 && score + upTo[i]! > threshold; i--) {
        const p = seek(docs, pos[i]!, end[i]!, d);
        pos[i] = p;
        if (p < end[i]! && docs[p] === d) {
          const f = tfs[p]!;
          score += (idf[i]! * (f * (K1 + 1))) / (f + norm[d]!);
        }
      }
      if (top.offer(score, d)) {
        threshold = top.threshold;
        while (essential < m && upTo[essential]! <= threshold) essential++;
        if (essential === m) break;
      }
    }
    return top.sorted().map(({ score, id }) => ({ rowid: rowids[id]!, score }));
  }
}

/** The first position in docs[from, end) holding a document ≥ target (galloping, then binary). */
function seek(docs: Uint32Array, from: number, end: number, target: number): number {
  if (from >= end || docs[from]! >= target) return from;
  let step = 1;
  let lo = from;
  let hi = from + 1;
  while (hi < end && docs[hi]! < target) {
    lo = hi;
    step *= 2;
    hi = from + step;
  }
  if (hi > end) hi = end;
  while (lo + 1 < hi) {
    const mid = (lo + hi) >>> 1;
    if (docs[mid]! < target) lo = mid;
    else hi = mid;
  }
  return hi;
}

type TypedArray = Float64Array | Float32Array | Uint32Array | Uint16Array | Int32Array;

/** The array on a SharedArrayBuffer (itself when it already is), so threads read one copy. */
export function shared<T extends TypedArray>(array: T): T {
  if (array.buffer instanceof SharedArrayBuffer) return array;
  const ctor = array.constructor as new (buffer: SharedArrayBuffer) => T;
  const copy = new ctor(new SharedArrayBuffer(array.byteLength));
  copy.set(array);
  return copy;
}

/**
 * One byte per segment row: 1 where its rowid is in `wanted` (ascending). `rows` are ascending,
 * or, with `byRowid` (the row positions in ascending rowid order), in any order.
 */
export function maskOf(rows: Float64Array, wanted: readonly number[], byRowid?: Int32Array): Uint8Array {
  const mask = new Uint8Array(rows.length);
  for (let i = 0, j = 0; i < rows.length && j < wanted.length;) {
    const at = byRowid ? byRowid[i]! : i;
    if (rows[at]! === wanted[j]!) {
      mask[at] = 1;
      i++;
    } else if (rows[at]! < wanted[j]!) i++;
    else j++;
  }
  return mask;
}
