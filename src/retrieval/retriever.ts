import type { RetrievalConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import type { DenseEmbedder } from "../models/ports.ts";
import {
  collectionNotFound,
  type CollectionInfo,
  type IndexStore,
  type ScoredRow,
  type StoredChunk,
} from "../store/index-store.ts";
import type { MetaFilter } from "../store/meta-filter.ts";
import type { RetrievalMode } from "../contracts/query.ts";
import { analyze } from "../text/analyzer.ts";
import { detectLanguage } from "../text/detect-script.ts";
import { convex, rrf, type RankedList } from "./fusion.ts";

export { RETRIEVAL_MODES, type RetrievalMode } from "../contracts/query.ts";

export interface RetrievedChunk {
  rowid: number;
  score: number;
  chunk: StoredChunk;
  /** The hit's score in each list it came from (a query with `explain`). */
  scores?: Record<string, number>;
}

export interface RetrieveOptions {
  mode?: RetrievalMode;
  k?: number;
  signal?: AbortSignal;
  /** Only chunks of documents whose metadata passes it, applied inside every retriever. */
  filter?: MetaFilter;
}

/**
 * Hybrid retrieval over one collection: lexical (FTS5 bm25) ∥ dense (sqlite-vec) ∥ sparse
 * (term weights × idf), fused by RRF or a convex combination as configured.
 *
 * @example
 * const retriever = new Retriever(store, embedder, config.retrieval);
 * const hits = await retriever.retrieve("default", "resume a job", { mode: "hybrid", k: 10 });
 */
export class Retriever {
  readonly #store: IndexStore;
  readonly #embedder: () => DenseEmbedder;
  readonly #config: RetrievalConfig;

  constructor(store: IndexStore, embedder: () => DenseEmbedder, config: RetrievalConfig) {
    this.#store = store;
    this.#embedder = embedder;
    this.#config = config;
  }

  async lexical(collection: string, query: string, k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    return this.#store.searchLexical(collection, analyze(query), k, filter);
  }

  /** `info` saves a lookup when the caller already has the collection. */
  async dense(
    collection: string,
    query: string,
    k: number,
    signal?: AbortSignal,
    info?: CollectionInfo | null,
    filter?: MetaFilter,
  ): Promise<ScoredRow[]> {
    info ??= await this.#store.getCollection(collection);
    if (!info?.embedder) return [];
    const embedder = this.#embedder();
    await embedder.warmUp();
    if (info.embedder !== embedder.id) {
      throw new SluiceError(
        "EMBEDDER_MISMATCH",
        `collection "${collection}" was embedded with ${info.embedder}; the configured embedder is ${embedder.id}. Query it with --mode lexical or configure ${info.embedder}`,
        {
          details: { collection, stored: info.embedder, configured: embedder.id },
        },
      );
    }
    const [vector] = await embedder.embed([query], { kind: "query", ...(signal ? { signal } : {}) });
    return this.#store.searchDense(collection, vector!, k, filter);
  }

  async sparse(collection: string, query: string, k: number, filter?: MetaFilter): Promise<ScoredRow[]> {
    const terms = analyze(query);
    if (terms.length === 0) return [];
    const { chunks, df, postings } = await this.#store.sparseStats(collection, terms);
    if (postings === 0 && chunks > 0) {
      throw new SluiceError(
        "VALIDATION_FAILED",
        `collection "${collection}" has no sparse index; ingest it with --pipeline hybrid-sparse to use --mode sparse`,
        {
          details: { collection },
        },
      );
    }
    const weights: Record<string, number> = {};
    for (const t of terms) {
      const n = df.get(t) ?? 0;
      if (n === 0) continue;
      // Lucene's idf: ln(1 + (N − n + 0.5) / (n + 0.5)); repeated query terms add up.
      weights[t] = (weights[t] ?? 0) + Math.log(1 + (chunks - n + 0.5) / (n + 0.5));
    }
    return this.#store.searchSparse(collection, weights, k, filter);
  }

  async retrieve(collection: string, query: string, options: RetrieveOptions = {}): Promise<RetrievedChunk[]> {
    const mode = options.mode ?? "hybrid";
    const k = options.k ?? 10;
    // One lookup per query: it counts documents and chunks, and dense search needs its embedder.
    const info = await this.#store.getCollection(collection);
    if (!info) {
      const known = (await this.#store.listCollections()).map((c) => c.name);
      throw collectionNotFound(collection, known);
    }
    const n = Math.max(k, this.#config.candidates);
    const filter = options.filter;
    let rows: ScoredRow[];
    if (mode === "lexical") rows = await this.lexical(collection, query, k, filter);
    else if (mode === "dense") rows = await this.dense(collection, query, k, options.signal, info, filter);
    else if (mode === "sparse") rows = await this.sparse(collection, query, k, filter);
    else {
      const w = { ...this.#config.weights };
      const embedder = this.#embedder();
      // A remote embedder learns its model (and languages) from the server when it warms up.
      if (w.dense > 0 && info.embedder) await embedder.warmUp();
      if (w.dense > 0 && info.embedder && !speaksQuery(embedder.languages, query)) w.dense = 0;
      const [lex, dense, sparse] = await Promise.all([
        w.lexical > 0 ? this.lexical(collection, query, n, filter) : [],
        w.dense > 0 ? this.dense(collection, query, n, options.signal, info, filter) : [],
        w.sparse > 0 ? this.sparse(collection, query, n, filter) : [],
      ]);
      rows = fuseLists(
        [
          { name: "lexical", weight: w.lexical, rows: lex },
          { name: "dense", weight: w.dense, rows: dense },
          { name: "sparse", weight: w.sparse, rows: sparse },
        ],
        this.#config,
        k,
      );
    }
    return hydrate(this.#store, collection, rows);
  }
}

/**
 * False when the model names the languages it was trained on and the query's is not one of
 * them: an English-only model ranks Arabic or Thai at random, and fusing that in only hurts.
 */
export function speaksQuery(languages: readonly string[] | undefined, query: string): boolean {
  if (!languages) return true;
  const language = detectLanguage(query);
  return language === "und" || languages.includes(language);
}

/** The best `k` of the lists fused as `retrieval.fusion` says (RRF or convex). */
export function fuseLists(
  lists: RankedList[],
  config: Pick<RetrievalConfig, "fusion" | "rrfK">,
  k: number,
): ScoredRow[] {
  return (config.fusion === "rrf" ? rrf(lists, config.rrfK) : convex(lists)).slice(0, k);
}

/** The chunks of ranked rows, in rank order (a row deleted meanwhile drops out). */
export async function hydrate(
  store: IndexStore,
  collection: string,
  rows: readonly ScoredRow[],
): Promise<RetrievedChunk[]> {
  const chunks = await store.getChunks(
    collection,
    rows.map((r) => r.rowid),
  );
  return rows.flatMap((r) => {
    const chunk = chunks.get(r.rowid);
    return chunk ? [{ rowid: r.rowid, score: r.score, chunk }] : [];
  });
}
