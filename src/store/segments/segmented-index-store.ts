import type { IndexResult } from "../../contracts/index.ts";
import type {
  CollectionInfo,
  IndexedDocument,
  IndexStore,
  ListDocumentsOptions,
  ScoredRow,
  StoredChunk,
  WriteDocumentInput,
} from "../index-store.ts";
import { LruCache } from "../lru-cache.ts";
import { metaFilterKey, type MetaFilter } from "../meta-filter.ts";
import { buildSegments, segmentKey, type SegmentSet, type SegmentStats } from "./build-segments.ts";

export interface SegmentOptions {
  /** A collection that changed is rebuilt once its version has held this long (default 1000 ms). */
  quietMs?: number;
  /**
   * Where segments come from: by default built here, yielding to the event loop every 1024 rows
   * so queries interleave; reader threads ask the pool's builder thread instead.
   */
  build?: (collection: string) => Promise<SegmentSet | null>;
  /** Told after each build that was installed. */
  onBuilt?: (collection: string, stats: SegmentStats) => void;
}

interface Masks {
  lexical: Uint8Array;
  dense: Uint8Array | null;
}

interface Entry {
  segments?: SegmentSet;
  /** The newest key a query saw, and since when. */
  seenKey?: string;
  seenAt: number;
  building: boolean;
  attempted: boolean;
  /** Why the last build failed, if it did. */
  lastError?: string;
}

/**
 * The index port with search segments in front: lexical and dense searches of a collection are
 * answered from in-memory segments ({@link LexicalSegment}, {@link DenseSegment}) built for its
 * current version, and from the store underneath while there are none. Reads only: segments see
 * writes through the collection's version, whoever wrote. A changed collection keeps answering
 * from the store (exact and current) until its version has held for `quietMs`, so a collection
 * under ingest is not rebuilt after every batch.
 *
 * @example
 * const store = new SegmentedIndexStore(new SqliteIndexStore(path), { quietMs: 1000 });
 * await store.open();
 * await store.warm(); // builds every collection's segments now
 */
export class SegmentedIndexStore implements IndexStore {
  readonly #inner: IndexStore;
  readonly #quietMs: number;
  readonly #buildSet: (collection: string) => Promise<SegmentSet | null>;
  readonly #onBuilt: SegmentOptions["onBuilt"];
  readonly #entries = new Map<string, Entry>();
  readonly #builds = new Set<Promise<void>>();
  readonly #maskCache = new WeakMap<SegmentSet, LruCache<string, Masks>>();
  #closed = false;

  constructor(inner: IndexStore, options: SegmentOptions = {}) {
    this.#inner = inner;
    this.#quietMs = options.quietMs ?? 1000;
    this.#buildSet =
      options.build ??
      ((collection) => buildSegments(inner, collection, { sliceRows: 1024, stopped: () => this.#closed }));
    this.#onBuilt = options.onBuilt;
  }

  open(): Promise<void> {
    return this.#inner.open();
  }

  async close(): Promise<void> {
    this.#closed = true;
    await Promise.allSettled([...this.#builds]);
    this.#entries.clear();
    await this.#inner.close();
  }

  /** Builds segments for every collection now, one after the other. */
  async warm(): Promise<void> {
    for (const info of await this.#inner.listCollections()) {
      const entry = this.#entry(info.name);
      if (!entry.building) await this.#build(info.name, entry);
    }
  }

  /** What each collection's installed segments hold. */
  stats(): Map<string, SegmentStats> {
    const out = new Map<string, SegmentStats>();
    for (const [name, entry] of this.#entries) if (entry.segments) out.set(name, entry.segments.stats);
    return out;
  }

  async searchLexical(collection: string, terms: string[], k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    const segments = await this.#current(collection);
    if (segments) {
      const allow = filter ? (await this.#masks(collection, segments, filter)).lexical : undefined;
      const rows = segments.lexical.search(terms, k, undefined, allow);
      if (rows) return rows;
    }
    return this.#inner.searchLexical(collection, terms, k, filter);
  }

  async searchDense(collection: string, vector: Float32Array, k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    const segments = await this.#current(collection);
    // A vector of the wrong size goes to the store, which names the mismatch.
    if (segments?.dense && segments.dense.dimensions === vector.length) {
      const allow = filter ? (await this.#masks(collection, segments, filter)).dense : undefined;
      return segments.dense.search(vector, k, allow ?? undefined);
    }
    return this.#inner.searchDense(collection, vector, k, filter);
  }

  /** The rows a filter keeps, as masks over the segments; the last few filters are remembered per set. */
  async #masks(collection: string, set: SegmentSet, filter: MetaFilter): Promise<Masks> {
    let cache = this.#maskCache.get(set);
    if (!cache) {
      cache = new LruCache<string, Masks>(64);
      this.#maskCache.set(set, cache);
    }
    const key = metaFilterKey(filter);
    let masks = cache.get(key);
    if (!masks) {
      const rows = await this.#inner.matchingRows(collection, filter);
      masks = { lexical: set.lexical.maskOf(rows), dense: set.dense?.maskOf(rows) ?? null };
      cache.set(key, masks);
    }
    return masks;
  }

  #entry(collection: string): Entry {
    let entry = this.#entries.get(collection);
    if (!entry) {
      entry = { seenAt: 0, building: false, attempted: false };
      this.#entries.set(collection, entry);
    }
    return entry;
  }

  /** The segments for the collection as it is now, or null (and maybe a build started). */
  async #current(collection: string): Promise<SegmentSet | null> {
    const info = await this.#inner.getCollection(collection);
    if (!info) return null;
    const key = segmentKey(info);
    const entry = this.#entry(collection);
    if (entry.segments?.key === key) return entry.segments;
    const now = Date.now();
    if (entry.seenKey !== key) {
      entry.seenKey = key;
      entry.seenAt = now;
    }
    if (!entry.building && !this.#closed && (!entry.attempted || now - entry.seenAt >= this.#quietMs)) {
      const build = this.#build(collection, entry).finally(() => this.#builds.delete(build));
      this.#builds.add(build);
    }
    return null;
  }

  /** Builds (or fetches) the collection's segments and installs them, unless closed meanwhile. */
  async #build(collection: string, entry: Entry): Promise<void> {
    entry.building = true;
    entry.attempted = true;
    try {
      const set = await this.#buildSet(collection);
      if (!set || this.#closed) return;
      entry.segments = set;
      this.#onBuilt?.(collection, set.stats);
    } catch (err) {
      // Queries stay correct without segments (the store answers them); the next quiet period retries.
      entry.lastError = err instanceof Error ? err.message : String(err);
    } finally {
      entry.building = false;
    }
  }

  // Everything else is the store's.
  ping(): Promise<void> {
    return this.#inner.ping();
  }
  ensureCollection(name: string): Promise<CollectionInfo> {
    return this.#inner.ensureCollection(name);
  }
  getCollection(name: string): Promise<CollectionInfo | null> {
    return this.#inner.getCollection(name);
  }
  listCollections(): Promise<CollectionInfo[]> {
    return this.#inner.listCollections();
  }
  dropCollection(name: string): Promise<boolean> {
    this.#entries.delete(name);
    return this.#inner.dropCollection(name);
  }
  documentHash(collection: string, docId: string): Promise<string | null> {
    return this.#inner.documentHash(collection, docId);
  }
  writeDocument(collection: string, input: WriteDocumentInput): Promise<IndexResult> {
    return this.#inner.writeDocument(collection, input);
  }
  deleteDocument(collection: string, docId: string): Promise<boolean> {
    return this.#inner.deleteDocument(collection, docId);
  }
  searchSparse(
    collection: string,
    weights: Record<string, number>,
    k: number,
    filter?: MetaFilter,
  ): Promise<ScoredRow[]> {
    return this.#inner.searchSparse(collection, weights, k, filter);
  }
  matchingRows(collection: string, filter: MetaFilter): Promise<number[]> {
    return this.#inner.matchingRows(collection, filter);
  }
  sparseStats(
    collection: string,
    terms: string[],
  ): Promise<{ chunks: number; df: Map<string, number>; postings: number }> {
    return this.#inner.sparseStats(collection, terms);
  }
  listDocuments(
    collection: string,
    options: ListDocumentsOptions,
  ): Promise<{ total: number; documents: IndexedDocument[] }> {
    return this.#inner.listDocuments(collection, options);
  }
  documentChunks(collection: string, docId: string): Promise<StoredChunk[]> {
    return this.#inner.documentChunks(collection, docId);
  }
  getChunks(collection: string, rowids: number[]): Promise<Map<number, StoredChunk>> {
    return this.#inner.getChunks(collection, rowids);
  }
  lexicalTotals(collection: string): Promise<{ rows: number; tokens: number }> {
    return this.#inner.lexicalTotals(collection);
  }
  scanChunks(collection: string): AsyncIterable<{ rowid: number; text: string }> {
    return this.#inner.scanChunks(collection);
  }
  scanVectors(collection: string): AsyncIterable<{ rowid: number; vector: Float32Array }> {
    return this.#inner.scanVectors(collection);
  }
}
