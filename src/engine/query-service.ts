import type { SluiceConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import type { Query, QueryResult } from "../contracts/query.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { DenseEmbedder } from "../models/ports.ts";
import type { EngineMetrics } from "../observability/engine-metrics.ts";
import { withSpan } from "../observability/tracing.ts";
import type { CompiledPipeline } from "../pipeline/build.ts";
import type { Answer, Answerer } from "../retrieval/answer/answer.ts";
import { decodeCursor, encodeCursor, MAX_PAGED_RESULTS, queryFingerprint } from "../retrieval/query-cursor.ts";
import type { ReaderPool } from "../retrieval/readers/reader-pool.ts";
import type { RetrievalMode } from "../retrieval/retriever.ts";
import { runQuery, type QueryRun } from "../retrieval/run-query.ts";
import { retrieverPlan, RetrieverStageConfigSchema } from "../retrieval/stages/retriever-stage.ts";
import { collectionNotFound, type CollectionInfo, type IndexStore } from "../store/index-store.ts";
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
  /** The query pipeline to run, by name or path (default `retrieval.pipeline`). */
  pipeline?: string;
  /** This query's hybrid fusion weights by retriever (default `retrieval.weights`; 0 leaves one out). */
  weights?: Partial<Record<"lexical" | "dense" | "sparse", number>>;
  /** Give each result its score in every retriever's list (`scores`). */
  explain?: boolean;
  signal?: AbortSignal;
}

export type { QueryResult };

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

/** A query pipeline, compiled, with the YAML and version a reader thread compiles it from. */
export interface QueryPipeline {
  pipeline: CompiledPipeline;
  version: string;
  yaml: string;
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
  /** A query pipeline by name or path (PIPELINE_INVALID for an ingest pipeline). */
  pipeline: (name: string) => Promise<QueryPipeline>;
  answerer: () => Answerer;
}

/**
 * The query path of the Sluice facade: the results cache and cursor pages around a query
 * pipeline (`pipelines/query.yaml`: retrievers, fusion, rerank, answer), run here or in a reader
 * thread.
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
    const [info, pipeline] = await Promise.all([
      this.#d.store.getCollection(request.collection),
      this.#d.pipeline(request.pipeline ?? this.#d.config.retrieval.pipeline),
    ]);
    const fingerprint = queryFingerprint([
      pipeline.version,
      request.collection,
      request.query,
      mode,
      k,
      request.answer ?? true,
      rerank,
      request.filter ? metaFilterKey(request.filter) : null,
      request.weights ? [request.weights.lexical, request.weights.dense, request.weights.sparse] : null,
      request.explain ?? false,
    ]);
    const offset = request.cursor ? this.#cursorOffset(request, info, fingerprint) : 0;
    const cacheKey = this.#resultKey(request, info, fingerprint, offset);
    const cached = cacheKey === null ? undefined : this.#results.get(cacheKey);
    if (cacheKey !== null) this.#d.metrics.onQueryCache("results", cached !== undefined);
    if (cached) {
      this.#d.metrics.onQuery(mode, (performance.now() - started) / 1000);
      return structuredClone(cached);
    }
    const response = await this.#run(request, mode, k, rerank, started, { info, offset, fingerprint, pipeline });
    if (cacheKey !== null && response.pending === undefined) this.#results.set(cacheKey, structuredClone(response));
    return response;
  }

  /** Where a cursor's page starts; the cursor must be this query's, over the collection as it is. */
  #cursorOffset(request: QueryRequest, info: CollectionInfo | null, fingerprint: string): number {
    const cursor = decodeCursor(request.cursor!);
    if (cursor.query !== fingerprint)
      throw new SluiceError(
        "VALIDATION_FAILED",
        "cursor: it belongs to another query (the pipeline, collection, query, mode, k, answer, rerank, filter, weights and explain must stay the same)",
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
    page: { info: CollectionInfo | null; offset: number; fingerprint: string; pipeline: QueryPipeline },
  ): Promise<QueryResponse> {
    const attributes = {
      "sluice.query.mode": mode,
      "sluice.query.k": k,
      "sluice.collection": request.collection,
      "sluice.query.answer": request.answer ?? true,
      "sluice.query.rerank": rerank,
      "sluice.query.pipeline": page.pipeline.version,
    };
    try {
      return await withSpan("sluice.query", { attributes }, async (span) => {
        // A later page retrieves the pages before it too, and is not answered.
        const end = page.offset + k;
        const answer = (request.answer ?? true) && page.offset === 0;
        const info = page.info;
        if (!info) return this.#notIndexedYet(request, mode, answer);
        const query: Query = {
          collection: request.collection,
          text: request.query,
          mode,
          k: end,
          // Reranked: the reranker picks the best `end` of more candidates.
          depth: rerank ? Math.max(end, this.#d.config.retrieval.rerank.candidates) : end,
          answer,
          rerank,
          ...(request.filter ? { filter: request.filter } : {}),
          ...(request.weights ? { weights: request.weights } : {}),
          ...(request.explain ? { explain: true } : {}),
        };
        const readers = this.#d.readers;
        const run = readers
          ? await this.#readInThread(readers, page.pipeline, query, info, request.signal)
          : await runQuery(page.pipeline.pipeline, query, request.signal);
        const hits = run.results.hits;
        const more = hits.length >= end && end < MAX_PAGED_RESULTS;
        const nextCursor = more
          ? encodeCursor({ collection: segmentKey(info), offset: end, query: page.fingerprint })
          : undefined;
        const results = hits.slice(page.offset, end).map((h) => ({
          docId: h.chunk.docId,
          chunkId: h.chunk.chunkId,
          score: h.score,
          text: h.chunk.text,
          source: h.chunk.source,
          title: h.chunk.title,
          page: h.chunk.page,
          ...(h.scores ? { scores: h.scores } : {}),
        }));
        span.setAttribute("sluice.query.results", results.length);
        const rerankedBy = run.results.rerankedBy;
        return {
          query: request.query,
          mode,
          results,
          ...(run.answer ? { answer: run.answer } : {}),
          ...(rerankedBy ? { rerankedBy } : {}),
          ...(nextCursor ? { nextCursor } : {}),
        };
      });
    } finally {
      this.#d.metrics.onQuery(mode, (performance.now() - started) / 1000);
    }
  }

  /**
   * A collection with nothing indexed yet: empty, with how many of its documents are still to
   * come, when some were accepted; COLLECTION_NOT_FOUND when none were.
   */
  async #notIndexedYet(request: QueryRequest, mode: RetrievalMode, answer: boolean): Promise<QueryResponse> {
    const pending = await this.#d.ledger.pendingDocuments(request.collection);
    if (pending === 0) {
      const known = (await this.#d.store.listCollections()).map((c) => c.name);
      throw collectionNotFound(request.collection, known);
    }
    const response: QueryResponse = { query: request.query, mode, results: [], pending };
    if (answer) response.answer = await this.#d.answerer().answer(request.query, []);
    return response;
  }

  /**
   * The query pipeline in a reader thread. A dense query's vector is embedded here first, where
   * the model is; the thread calls back here for the reranker.
   */
  async #readInThread(
    readers: ReaderPool,
    source: QueryPipeline,
    query: Query,
    info: CollectionInfo,
    signal: AbortSignal | undefined,
  ): Promise<QueryRun> {
    if (info.embedder && this.#wantsDense(source, query)) {
      const embedder = this.#d.embedder();
      await embedder.warmUp();
      const [vector] = await embedder.embed([query.text], { kind: "query", ...(signal ? { signal } : {}) });
      const { id, languages } = embedder;
      query.embedding = { model: id, vector: vector!, ...(languages ? { languages: [...languages] } : {}) };
    }
    return readers.read({ pipeline: { version: source.version, yaml: source.yaml }, query });
  }

  /** Whether a `query.dense` node of the pipeline takes part in this query ({@link retrieverPlan}). */
  #wantsDense(source: QueryPipeline, query: Query): boolean {
    return source.pipeline.topology.nodes.some(
      (n) =>
        n.type === "query.dense" &&
        retrieverPlan("dense", query, RetrieverStageConfigSchema.parse(n.config ?? {}), this.#d.config.retrieval) !==
          null,
    );
  }
}
