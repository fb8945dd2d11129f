import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { loadConfig } from "../config/load-config.ts";
import type { SluiceConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import type { DocumentRef, Job } from "../contracts/index.ts";
import type { Ledger } from "../ledger/ledger.ts";
import { SqliteLedger } from "../ledger/sqlite/sqlite-ledger.ts";
import { LexicalSparseEncoder } from "../models/backends/lexical-sparse-encoder.ts";
import { OpenAIChatModel } from "../models/backends/openai-chat.ts";
import { MicroBatcher } from "../models/batcher.ts";
import { createEmbedder } from "../models/create-embedder.ts";
import type { DenseEmbedder, SparseEncoder } from "../models/ports.ts";
import { buildPipeline, type CompiledPipeline } from "../pipeline/build.ts";
import { JobRunner, type DocumentProgress } from "../pipeline/job-runner.ts";
import type { StageServices } from "../pipeline/services.ts";
import { loadTopologyFile } from "../pipeline/topology.ts";
import type { Answer, Answerer } from "../retrieval/answer/answer.ts";
import { ExtractiveAnswerer } from "../retrieval/answer/extractive-answerer.ts";
import { LlmAnswerer } from "../retrieval/answer/llm-answerer.ts";
import { Retriever, type RetrievalMode } from "../retrieval/retriever.ts";
import { builtinStages } from "../stages/index.ts";
import { expandPaths } from "../stages/sources/expand-paths.ts";
import type { CollectionInfo, IndexStore } from "../store/index-store.ts";
import { assertCollectionName, SqliteIndexStore } from "../store/sqlite/sqlite-index-store.ts";
import { resolvePipeline } from "./resolve-pipeline.ts";

export interface SluiceOptions {
  /** Data directory (ledger.db, index.db). */
  dataDir: string;
  config?: SluiceConfig;
  /** Base for relative paths and pipeline files. */
  cwd?: string;
  /** Use this embedder instead of the configured one (tests, benchmarks). */
  embedder?: DenseEmbedder;
}

export interface InlineDocument {
  id: string;
  text: string;
  title?: string;
  meta?: Record<string, unknown>;
}

export interface QueryRequest {
  collection: string;
  query: string;
  mode?: RetrievalMode;
  k?: number;
  answer?: boolean;
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
  answer?: Answer;
}

export interface RunJobOptions {
  signal?: AbortSignal;
  onDocument?: (progress: DocumentProgress) => void;
}

/** Whether a lease owner (`host:pid:nonce`) on this host still has a live process. */
function ownerAlive(owner: string): boolean {
  const [host, pid] = owner.split(":");
  if (host !== hostname() || !pid) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * The embedded engine: one data directory, a ledger, an index, the configured models and the
 * shipped pipelines. The CLI and the HTTP API are thin layers over it.
 *
 * @example
 * const sluice = await Sluice.open({ dataDir: ".sluice" });
 * const job = await sluice.submitPaths({ collection: "default", paths: ["docs"] });
 * await sluice.runJob(job.id);
 * const { results, answer } = await sluice.query({ collection: "default", query: "how do I resume a failed job?" });
 * await sluice.close();
 */
export class Sluice {
  readonly dataDir: string;
  readonly config: SluiceConfig;
  readonly cwd: string;
  readonly ledger: Ledger;
  readonly store: IndexStore;
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  readonly #registry = builtinStages();
  readonly #pipelines = new Map<string, Promise<CompiledPipeline>>();
  #embedder: DenseEmbedder | null;
  #sparse: SparseEncoder | null = null;
  #answerer: Answerer | null = null;
  #retriever: Retriever | null = null;

  private constructor(options: SluiceOptions) {
    this.dataDir = resolve(options.dataDir);
    this.cwd = options.cwd ?? process.cwd();
    this.config = options.config ?? loadConfig();
    this.ledger = new SqliteLedger(join(this.dataDir, "ledger.db"));
    this.store = new SqliteIndexStore(join(this.dataDir, "index.db"));
    this.#embedder = options.embedder ? this.#batched(options.embedder) : null;
  }

  static async open(options: SluiceOptions): Promise<Sluice> {
    const sluice = new Sluice(options);
    await sluice.ledger.open();
    await sluice.store.open();
    return sluice;
  }

  async close(): Promise<void> {
    await this.#embedder?.close();
    await this.ledger.close();
    await this.store.close();
  }

  #batched(embedder: DenseEmbedder): DenseEmbedder {
    // Coalesce up to a few model batches across the documents in flight; the backend splits
    // them into its own batch size (use-lite sorts by length first, so a wider window pads less).
    const batchSize = "batchSize" in this.config.embedder ? this.config.embedder.batchSize : 64;
    return new MicroBatcher(embedder, { maxBatch: Math.max(64, batchSize), maxWaitMs: 5 });
  }

  embedder(): DenseEmbedder {
    this.#embedder ??= this.#batched(createEmbedder(this.config.embedder));
    return this.#embedder;
  }

  sparseEncoder(): SparseEncoder {
    this.#sparse ??= new LexicalSparseEncoder();
    return this.#sparse;
  }

  #services(): StageServices {
    return { config: this.config, store: () => this.store, embedder: () => this.embedder(), sparseEncoder: () => this.sparseEncoder() };
  }

  /** Loads, validates and builds a pipeline by name or path (cached per process). */
  pipeline(name: string): Promise<CompiledPipeline> {
    let p = this.#pipelines.get(name);
    if (!p) {
      p = loadTopologyFile(resolvePipeline(name, this.cwd)).then((t) => buildPipeline(t, this.#registry, this.#services()));
      p.catch(() => this.#pipelines.delete(name));
      this.#pipelines.set(name, p);
    }
    return p;
  }

  /** Validates a topology file against the registry without running anything. */
  async validatePipeline(path: string): Promise<CompiledPipeline> {
    return buildPipeline(await loadTopologyFile(resolve(this.cwd, path)), this.#registry, this.#services());
  }

  /** Records a job for files, directories, globs or BEIR .jsonl files. Enumerates them now. */
  async submitPaths(request: { collection: string; paths: string[]; pipeline?: string }): Promise<Job> {
    assertCollectionName(request.collection);
    if (request.paths.length === 0) throw new SluiceError("VALIDATION_FAILED", "no paths given to ingest");
    const pipeline = request.pipeline ?? "auto";
    await this.pipeline(pipeline);
    const refs = expandPaths(request.paths, { cwd: this.cwd, maxDocumentBytes: this.config.ingest.maxDocumentBytes });
    return this.ledger.createJob({ collection: request.collection, pipeline, paths: request.paths }, refs);
  }

  /** Records a job for documents given inline (HTTP JSON uploads). */
  async submitDocuments(request: { collection: string; documents: InlineDocument[]; pipeline?: string }): Promise<Job> {
    assertCollectionName(request.collection);
    const pipeline = request.pipeline ?? "auto";
    await this.pipeline(pipeline);
    const refs: DocumentRef[] = request.documents.map((d) => ({
      id: d.id,
      source: `upload:${d.id}`,
      kind: "inline",
      text: d.text,
      ...(d.title !== undefined ? { title: d.title } : {}),
      mediaType: "text/plain",
      meta: d.meta ?? {},
    }));
    return this.ledger.createJob({ collection: request.collection, pipeline, paths: [] }, refs);
  }

  #runner(options: RunJobOptions): JobRunner {
    return new JobRunner(this.ledger, (name) => this.pipeline(name), {
      owner: this.owner,
      concurrency: this.config.ingest.concurrency,
      ...(options.onDocument ? { onDocument: options.onDocument } : {}),
    });
  }

  /** Claims one job and runs it in this process until it ends, is cancelled, or `signal` aborts. */
  async runJob(jobId: string, options: RunJobOptions = {}): Promise<Job> {
    const job = await this.ledger.claimJob(this.owner, 30_000, jobId);
    if (!job) {
      const current = await this.ledger.getJob(jobId);
      if (current.state === "PROCESSING") throw new SluiceError("JOB_STATE_CONFLICT", `job "${jobId}" is being run by another worker`, { details: { jobId } });
      return current;
    }
    await this.store.ensureCollection(job.collection);
    return this.#runner(options).run(job, options.signal);
  }

  /** Worker loop: runs any runnable job, oldest first; with `exitWhenIdle`, returns when none is left. */
  async work(options: RunJobOptions & { exitWhenIdle?: boolean; pollMs?: number } = {}): Promise<void> {
    while (!options.signal?.aborted) {
      const job = await this.ledger.claimJob(this.owner, 30_000);
      if (job) {
        await this.store.ensureCollection(job.collection);
        await this.#runner(options).run(job, options.signal);
        continue;
      }
      if (options.exitWhenIdle) return;
      await sleep(options.pollMs ?? 500, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
    }
  }

  /**
   * Makes a job runnable again. A job left PROCESSING by a worker on this host whose process is
   * gone (killed, crashed) is taken over at once instead of after its lease runs out.
   */
  async resumeJob(jobId: string): Promise<Job> {
    const job = await this.ledger.getJob(jobId);
    if (job.state === "PROCESSING" && job.owner && !ownerAlive(job.owner)) await this.ledger.expireLease(jobId, job.owner);
    return this.ledger.resumeJob(jobId);
  }

  retriever(): Retriever {
    this.#retriever ??= new Retriever(this.store, () => this.embedder(), this.config.retrieval);
    return this.#retriever;
  }

  answerer(): Answerer {
    if (!this.#answerer) {
      const a = this.config.answer;
      this.#answerer =
        a.backend === "openai"
          ? new LlmAnswerer(new OpenAIChatModel(a))
          : new ExtractiveAnswerer({ sentences: a.sentences });
    }
    return this.#answerer;
  }

  async query(request: QueryRequest): Promise<QueryResponse> {
    const mode = request.mode ?? "hybrid";
    const hits = await this.retriever().retrieve(request.collection, request.query, { mode, k: request.k ?? 10, ...(request.signal ? { signal: request.signal } : {}) });
    const results = hits.map((h) => ({ docId: h.chunk.docId, chunkId: h.chunk.chunkId, score: h.score, text: h.chunk.text, source: h.chunk.source, title: h.chunk.title, page: h.chunk.page }));
    const response: QueryResponse = { query: request.query, mode, results };
    if (request.answer ?? true) response.answer = await this.answerer().answer(request.query, hits, request.signal ? { signal: request.signal } : {});
    return response;
  }

  async stats(collection: string): Promise<CollectionInfo> {
    const info = await this.store.getCollection(collection);
    if (!info) {
      const known = (await this.store.listCollections()).map((c) => c.name);
      throw new SluiceError("COLLECTION_NOT_FOUND", `collection "${collection}" does not exist; collections: ${known.join(", ") || "(none)"}`, { details: { collection } });
    }
    return info;
  }

  async deleteDocument(collection: string, docId: string): Promise<void> {
    await this.stats(collection);
    if (!(await this.store.deleteDocument(collection, docId))) {
      throw new SluiceError("DOCUMENT_NOT_FOUND", `document "${docId}" is not in collection "${collection}"`, { details: { collection, docId } });
    }
  }
}
