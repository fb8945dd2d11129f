import type { SluiceConfig } from "../config/schema.ts";
import { isSluiceError, SluiceError } from "../contracts/errors.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { DenseEmbedder, Reranker } from "../models/ports.ts";
import type { EngineMetrics } from "../observability/engine-metrics.ts";
import { withSpan } from "../observability/tracing.ts";
import type { Answer, Answerer } from "../retrieval/answer/answer.ts";
import { decodeCursor, encodeCursor, MAX_PAGED_RESULTS, queryFingerprint } from "../retrieval/query-cursor.ts";
import type { ReaderPool } from "../retrieval/readers/reader-pool.ts";
import { rerankHits } from "../retrieval/rerank-hits.ts";
import type { RetrievalMode, RetrievedChunk, Retriever } from "../retrieval/retriever.ts";
import type { CollectionInfo, IndexStore } from "../store/index-store.ts";
import { LruCache } from "../store/lru-cache.ts";
import { metaFilterKey, type MetaFilter } from "../store/meta-filter.ts";
import { segmentKey } from "../store/segments/build-segments.ts";

export interface QueryRequest {
  collection: string;
  query: string;
  mode?: RetrievalMode;
  k?: number;
  answer?: boolean;
  /** Rerank the candidates before answering (default `retrieval.rerank.enabled`). */
  rerank?: boolean;
  /** Only chunks of documents whose metadata passes it; applied inside each retriever. */
  filter?: MetaFilter;
  /** A previous response's `nextCursor`: the next `k` results of the same query (not answered). */
  cursor?: string;
  signal?: AbortSignal;
}

export interface QueryResult {
  docId: string;
  chunkId: string;
  score: number;
  text: string;
  source: string;
  title: string;
  page: number | null;
}

export interface QueryResponse {
  query: string;
  mode: RetrievalMode;
  results: QueryResult[];
  /** Set when nothing of the collection is indexed yet: how many of its documents are still to come. */
  pending?: number;
  answer?: Answer;
  /** The reranker that ordered `results` (their scores are its scores), when the query was reranked. */
  rerankedBy?: string;
  /**
   * Pass as `cursor` for the next `k` results; absent when none can follow (a page that ended
   * exactly at the last result still has one, and the next page is empty).
   */
  nextCursor?: string;
}

/** What a {@link QueryService} reads from and calls; the models are made on first use. */
export interface QueryDeps {
  store: IndexStore;
  ledger: Ledger;
  config: SluiceConfig;
  metrics: EngineMetrics;
  /** Reader threads (`sluice serve`), or null: queries run on this thread. */
  readers: ReaderPool | null;
  embedder: () => DenseEmbedder;
  retriever: () => Retriever;
  reranker: () => Reranker;
  answerer: () => Answerer;
}

/**
 * The query path of the Sluice facade: the results cache, cursor pages, retrieval (here or in a
 * reader thread), filters, rerank and the answer.
 *
 * @example
 * const queries = new QueryService(deps);
 * const { results, answer, nextCursor } = await queries.query({ collection: "docs", query: "resume a job" });
 */
export class QueryService {
  readonly #d: QueryDeps;
  /** Whole query responses by collection version and parameters (`retrieval.cache.results`). */
  readonly #results: LruCache<string, QueryResponse>;

  constructor(deps: QueryDeps) {
    this.#d = deps;
    this.#results = new LruCache(deps.config.retrieval.cache.results);
  }

  async query(request: QueryRequest): Promise<QueryResponse> {
    const mode = request.mode ?? "hybrid";
    const k = request.k ?? 10;
    const started = performance.now();
    const rerank = request.rerank ?? this.#d.config.retrieval.rerank.enabled;
    // Read once: the cursor is checked against it, the cache keyed by it, the next cursor holds it.
    const info = await this.#d.store.getCollection(request.collection);
    const fingerprint = queryFingerprint([
      request.collection,
      request.query,
      mode,
      k,
      request.answer ?? true,
      rerank,
      request.filter ? metaFilterKey(request.filter) : null,
    ]);
    const offset = request.cursor ? this.#cursorOffset(request, info, fingerprint) : 0;
    const cacheKey = this.#resultKey(request, info, fingerprint, offset);
    const cached = cacheKey === null ? undefined : this.#results.get(cacheKey);
    if (cacheKey !== null) this.#d.metrics.onQueryCache("results", cached !== undefined);
    if (cached) {
      this.#d.metrics.onQuery(mode, (performance.now() - started) / 1000);
      return structuredClone(cached);
    }
    const response = await this.#run(request, mode, k, rerank, started, { info, offset, fingerprint });
    if (cacheKey !== null && response.pending === undefined) this.#results.set(cacheKey, structuredClone(response));
    return response;
  }

  /** Where a cursor's page starts; the cursor must be this query's, over the collection as it is. */
  #cursorOffset(request: QueryRequest, info: CollectionInfo | null, fingerprint: string): number {
    const cursor = decodeCursor(request.cursor!);
    if (cursor.query !== fingerprint)
      throw new SluiceError(
        "VALIDATION_FAILED",
        "cursor: it belongs to another query (the collection, query, mode, k, answer, rerank and filter must stay the same)",
        { details: { path: ["cursor"] } },
      );
    if (!info || segmentKey(info) !== cursor.collection)
      throw new SluiceError(
        "CURSOR_STALE",
        `collection "${request.collection}" changed since this cursor was issued; run the query again from the first page`,
        { details: { collection: request.collection } },
      );
    return cursor.offset;
  }

  /**
   * The results cache's key: the collection's identity and version (any write retires it), the
   * query with every parameter that changes the answer, and the page; null when the cache is off
   * or the collection is not indexed yet.
   */
  #resultKey(request: QueryRequest, info: CollectionInfo | null, fingerprint: string, offset: number): string | null {
    if (this.#results.size === 0 || !info) return null;
    return JSON.stringify([request.collection, segmentKey(info), fingerprint, offset]);
  }

  async #run(
    request: QueryRequest,
    mode: RetrievalMode,
    k: number,
    rerank: boolean,
    started: number,
    page: { info: CollectionInfo | null; offset: number; fingerprint: string },
  ): Promise<QueryResponse> {
    let pendingOnly: number | null = null;
    const attributes = {
      "sluice.query.mode": mode,
      "sluice.query.k": k,
      "sluice.collection": request.collection,
      "sluice.query.answer": request.answer ?? true,
      "sluice.query.rerank": rerank,
    };
    try {
      return await withSpan("sluice.query", { attributes }, async (span) => {
        const readers = this.#d.readers;
        // A later page retrieves the pages before it too, and is not answered.
        const end = page.offset + k;
        const answerWanted = (request.answer ?? true) && page.offset === 0;
        // Reranked: retrieve more candidates, answer only after the reranker has ordered them.
        const n = rerank ? Math.max(end, this.#d.config.retrieval.rerank.candidates) : end;
        const answer = answerWanted && !rerank;
        const signal = request.signal ? { signal: request.signal } : {};
        let answered: Answer | undefined;
        const retrieved = readers
          ? this.#readInThread(readers, { ...request, answer }, mode, n).then((r) => {
              answered = r.answer;
              return r.hits;
            })
          : this.#d.retriever().retrieve(request.collection, request.query, {
              mode,
              k: n,
              ...signal,
              ...(request.filter ? { filter: request.filter } : {}),
            });
        let hits = await retrieved.catch(async (err: unknown) => {
          // Accepted but nothing indexed yet: the collection exists and is empty for now.
          if (!isSluiceError(err) || err.code !== "COLLECTION_NOT_FOUND") throw err;
          const pending = await this.#d.ledger.pendingDocuments(request.collection);
          if (pending === 0) throw err;
          pendingOnly = pending;
          return [];
        });
        let rerankedBy: string | undefined;
        if (rerank && hits.length > 0) {
          const reranker = this.#d.reranker();
          hits = await rerankHits(reranker, request.query, hits, end, signal);
          rerankedBy = reranker.id;
        }
        const info = page.info;
        const more = hits.length >= end && end < MAX_PAGED_RESULTS && info !== null;
        const nextCursor = more
          ? encodeCursor({ collection: segmentKey(info), offset: end, query: page.fingerprint })
          : undefined;
        hits = hits.slice(page.offset, end);
        const results = hits.map((h) => ({
          docId: h.chunk.docId,
          chunkId: h.chunk.chunkId,
          score: h.score,
          text: h.chunk.text,
          source: h.chunk.source,
          title: h.chunk.title,
          page: h.chunk.page,
        }));
        span.setAttribute("sluice.query.results", results.length);
        const response: QueryResponse = {
          query: request.query,
          mode,
          results,
          ...(pendingOnly !== null ? { pending: pendingOnly } : {}),
          ...(rerankedBy ? { rerankedBy } : {}),
          ...(nextCursor ? { nextCursor } : {}),
        };
        if (answered) response.answer = answered;
        else if (answerWanted) response.answer = await this.#d.answerer().answer(request.query, hits, signal);
        return response;
      });
    } finally {
      this.#d.metrics.onQuery(mode, (performance.now() - started) / 1000);
    }
  }

  /** Retrieval and answer in a reader thread; the query's vector is embedded here, where the model is. */
  async #readInThread(
    readers: ReaderPool,
    request: QueryRequest,
    mode: RetrievalMode,
    k: number,
  ): Promise<{ hits: RetrievedChunk[]; answer?: Answer }> {
    const embedder = this.#d.embedder();
    const dense = mode === "dense" || (mode === "hybrid" && this.#d.config.retrieval.weights.dense > 0);
    let vector: Float32Array | undefined;
    if (dense) {
      await embedder.warmUp();
      [vector] = await embedder.embed([request.query], {
        kind: "query",
        ...(request.signal ? { signal: request.signal } : {}),
      });
    }
    const { id, dimensions, languages } = embedder;
    return readers.read({
      collection: request.collection,
      query: request.query,
      mode,
      k,
      answer: request.answer ?? true,
      embedder: { id, dimensions, ...(languages ? { languages: [...languages] } : {}) },
      ...(vector ? { vector } : {}),
      ...(request.filter ? { filter: request.filter } : {}),
    });
  }
}
