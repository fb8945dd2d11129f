import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, isAbsolute, join, relative, resolve } from "node:path";
import { allowedRoots, assertAllowedPath } from "../config/allowed-roots.ts";
import { loadConfig } from "../config/load-config.ts";
import type { SluiceConfig } from "../config/schema.ts";
import { SluiceError, toSluiceError } from "../contracts/errors.ts";
import type { DocumentRef, Job } from "../contracts/index.ts";
import type { GetJobOptions, Ledger } from "../ledger/ledger.ts";
import type { CollectionLock } from "../locks/collection-lock.ts";
import { OpenAIChatModel } from "../models/backends/openai-chat.ts";
import { MicroBatcher } from "../models/batcher.ts";
import { embedConcurrency } from "../models/threaded-embedder.ts";
import { isUnannouncedId } from "../models/remote/remote-model.ts";
import type { ModelPlane } from "../models/model-plane.ts";
import type { DenseEmbedder, Reranker, SparseEncoder } from "../models/ports.ts";
import { buildPipeline, type CompiledPipeline, type PipelineKind } from "../pipeline/build.ts";
import type { RequeuePolicy } from "../queue/decide.ts";
import type { JobStores } from "../queue/stores.ts";
import type { DeadLetter, QueueStats, WorkQueue } from "../queue/work-queue.ts";
import { Worker, type DocumentProgress } from "../queue/worker.ts";
import { Gate, storeUnavailable } from "../gate/gate.ts";
import type { StageEventStream } from "../observability/cloudevents.ts";
import { createEventStream } from "../observability/create-event-stream.ts";
import { jobEndType, jobEvent } from "../contracts/job-event.ts";
import { createAdapters, type SluiceAdapters } from "./create-adapters.ts";
import { createReranker } from "./create-reranker.ts";
import { type QueryPipeline, QueryService, type QueryRequest, type QueryResponse } from "./query-service.ts";
import { EngineMetrics } from "../observability/engine-metrics.ts";
import { createLogger } from "../observability/logger.ts";
import type { Logger } from "pino";
import type { Lane } from "../queue/work-queue.ts";
import type { StageServices } from "../pipeline/services.ts";
import { loadTopology, loadTopologyFile, type Topology } from "../pipeline/topology.ts";
import type { Answerer } from "../retrieval/answer/answer.ts";
import { ExtractiveAnswerer } from "../retrieval/answer/extractive-answerer.ts";
import { LlmAnswerer } from "../retrieval/answer/llm-answerer.ts";
import { ReaderPool } from "../retrieval/readers/reader-pool.ts";
import { QueryVectorCache } from "../retrieval/cache/query-vector-cache.ts";
import { Retriever } from "../retrieval/retriever.ts";
import { builtinStages } from "../stages/index.ts";
import { queryStages } from "../retrieval/stages/index.ts";
import { expandPaths } from "../stages/sources/expand-paths.ts";
import { collectionNotFound, type CollectionInfo, type IndexStore } from "../store/index-store.ts";
import { assertCollectionName } from "../store/index-store.ts";
import { SqliteIndexStore } from "../store/sqlite/sqlite-index-store.ts";
import { describePipeline, type PipelineView } from "./describe-pipeline.ts";
import { resolvePipeline, SHIPPED_PIPELINES, shippedPipelines } from "./resolve-pipeline.ts";
import {
  assertSourceType,
  createLiteratureSource,
  createSourceHttp,
} from "../stages/sources/literature/create-source.ts";
import type { PoliteHttp } from "../stages/sources/http/polite-http.ts";
import { runSourcePages, sourceQueryKey, SourceSpecSchema, type SourceRunResult } from "./source-run.ts";

export interface SluiceOptions {
  /** Data directory (ledger.db, index.db). */
  dataDir: string;
  config?: SluiceConfig;
  /** Base for relative paths and pipeline files. */
  cwd?: string;
  /** Use this embedder instead of the configured one (tests, benchmarks). */
  embedder?: DenseEmbedder;
  /** Log here instead of the logger `logging.level` / SLUICE_LOG_LEVEL configure (tests). */
  logger?: Logger;
  /** The adapters to use; absent, `createAdapters` chooses them from the config. */
  adapters?: SluiceAdapters;
  /**
   * Run queries in this many reader threads (`sluice serve` passes `retrieval.readerThreads`).
   * Default 0: on this thread. Only with the embedded index and the extractive answer.
   */
  readerThreads?: number;
}

/** Whether a pipeline's first stage downloads (`source.download`): it takes url documents. */
function takesUrls(pipeline: CompiledPipeline): boolean {
  const first = pipeline.runInputs[0]?.split(".")[0];
  return pipeline.nodes.some((n) => n.name === first && n.definition.type === "source.download");
}

/**
 * A document given by value (`text`), or by the address of a PDF (`url`) that a pipeline starting
 * with `source.download` fetches (`pdf-two-phase`).
 */
export type InlineDocument = { id: string; title?: string; meta?: Record<string, unknown> } & (
  { text: string; url?: undefined } | { url: string; text?: undefined }
);

export type { QueryRequest, QueryResponse, QueryResult } from "./query-service.ts";

export interface SubmitOptions {
  /** Wait while the spool is over a limit (CLI, sources) instead of throwing BACKPRESSURE (HTTP). Default true. */
  pause?: boolean;
  /** Called once the job exists, before its documents are admitted. */
  onJob?: (job: Job) => void;
  signal?: AbortSignal;
}

export interface RunJobOptions {
  signal?: AbortSignal;
  onDocument?: (progress: DocumentProgress) => void;
}

async function* prepend<T>(head: IteratorResult<T>, rest: AsyncIterator<T>): AsyncGenerator<T> {
  if (head.done) return;
  yield head.value;
  for (let next = await rest.next(); !next.done; next = await rest.next()) yield next.value;
}

/** A pipeline file as read once: the version its bytes hash to, and its text. */
interface PipelineFile {
  path: string;
  version: string;
  yaml: string;
}

/** `name@<first 12 hex of the sha256 of the file's bytes>`: a pipeline version. */
function versionOf(name: string, bytes: Buffer): string {
  return `${basename(name).replace(/\.ya?ml$/i, "")}@${createHash("sha256").update(bytes).digest("hex").slice(0, 12)}`;
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
  /** Jobs and their document records, from the adapters (`database`). */
  readonly ledger: Ledger;
  /** The durable work queue (`database`, `queue`): the record of every accepted document. */
  readonly queue: WorkQueue;
  readonly #stores: JobStores;
  readonly store: IndexStore;
  /**
   * Collection ingest locks (in `ledger.db`, or Redis when `redis.url` is set); null when
   * `locks.collections` is off.
   */
  readonly locks: CollectionLock | null;
  readonly owner = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  readonly #registry = builtinStages().register(...queryStages);
  /** Compiled pipelines by name (from the file as first read) and, for runs, by version (from its snapshot). */
  readonly #pipelines = new Map<string, Promise<CompiledPipeline>>();
  readonly #snapshots = new Map<string, Promise<CompiledPipeline>>();
  /** Pipeline files by name, read once per process; the versions whose snapshots this process saved. */
  readonly #files = new Map<string, Promise<PipelineFile>>();
  readonly #pinned = new Map<string, Promise<void>>();
  /** Every model the engine uses: in this process, or a model server (`models.mode: remote`). */
  readonly models: ModelPlane;
  #embedder: DenseEmbedder | null = null;
  #answerer: Answerer | null = null;
  #retriever: Retriever | null = null;
  #reranker: Reranker | null = null;
  /** Reader threads for queries (started at the first), or null: queries run on this thread. */
  readonly #readers: ReaderPool | null;
  #queries: QueryService | null = null;
  #gateInstance: Gate | null = null;
  /** One client for every source run of this process, so each API host's pace holds across runs. */
  #sourceHttp: PoliteHttp | null = null;
  readonly #metrics: EngineMetrics;
  /**
   * Stage and job lifecycle as CloudEvents: subscribe in-process, or configure `events.file` /
   * `events.http` / `lineage`.
   */
  readonly events: StageEventStream;
  /** JSON logs on stderr at `logging.level` (env SLUICE_LOG_LEVEL); silent by default. */
  readonly logger: Logger;

  private constructor(options: SluiceOptions, adapters: SluiceAdapters) {
    this.dataDir = resolve(options.dataDir);
    this.cwd = options.cwd ?? process.cwd();
    this.config = options.config ?? loadConfig();
    this.#stores = adapters.stores;
    this.ledger = adapters.stores.ledger;
    this.queue = adapters.stores.queue;
    this.store = adapters.index;
    this.locks = adapters.locks;
    this.models = adapters.models;
    this.#metrics = new EngineMetrics(
      () => this.queue.stats(),
      () => this.ledger.countJobsByState(),
    );
    this.logger = options.logger ?? createLogger({ level: this.config.logging.level });
    this.#readers = this.#readerPool(options.readerThreads ?? 0);
    // The embedder's id for lineage, once this process has one (never built just to be named) and
    // it is a model's (a remote one names only its server until it has warmed up).
    const modelId = () => {
      const id = this.#embedder?.id;
      return id === undefined || isUnannouncedId(id) ? undefined : id;
    };
    this.events = createEventStream(this.config, { cwd: this.cwd, dataDir: this.dataDir, modelId });
  }

  /**
   * Opens the engine on the adapters given, or on those `createAdapters` chooses from the config
   * (the one place they are chosen).
   */
  static async open(options: SluiceOptions): Promise<Sluice> {
    const config = options.config ?? loadConfig();
    const adapters =
      options.adapters ??
      (await createAdapters(config, resolve(options.dataDir), options.embedder ? { embedder: options.embedder } : {}));
    const sluice = new Sluice({ ...options, config }, adapters);
    await sluice.models.open();
    await sluice.#stores.open();
    await sluice.store.open();
    await sluice.locks?.open();
    return sluice;
  }

  async close(): Promise<void> {
    await this.#readers?.close();
    await this.events.close();
    await this.#embedder?.close();
    await this.models.close();
    await this.#stores.close();
    await this.store.close();
    await this.locks?.close();
  }

  #batched(embedder: DenseEmbedder): DenseEmbedder {
    // Coalesce up to a few model batches across the documents in flight; the backend splits
    // them into its own batch size (use-lite sorts by length first, so a wider window pads less).
    // A pool of embedder threads takes one batch per thread at once.
    const batchSize = "batchSize" in this.config.embedder ? this.config.embedder.batchSize : 64;
    return new MicroBatcher(embedder, {
      maxBatch: Math.max(64, batchSize),
      maxWaitMs: 0,
      concurrency: embedConcurrency(embedder),
    });
  }

  embedder(): DenseEmbedder {
    // A model server batches across all its callers itself, and each call must keep its own
    // deadline and cancellation: only in-process models get the client-side micro-batcher.
    if (!this.#embedder) {
      const model = this.models.mode === "remote" ? this.models.embedder() : this.#batched(this.models.embedder());
      this.#embedder = new QueryVectorCache(model, this.config.retrieval.cache.queryVectors, (hit) =>
        this.#metrics.onQueryCache("vectors", hit),
      );
    }
    return this.#embedder;
  }

  sparseEncoder(): SparseEncoder {
    return this.models.sparseEncoder();
  }

  #services(): StageServices {
    return {
      config: this.config,
      dataDir: this.dataDir,
      store: () => this.store,
      embedder: () => this.embedder(),
      sparseEncoder: () => this.sparseEncoder(),
      ocr: () => this.models.ocr(),
      reranker: () => this.reranker(),
      answerer: () => this.answerer(),
    };
  }

  #build(topology: Topology): CompiledPipeline {
    return buildPipeline(topology, this.#registry, this.#services(), { onBreakerState: this.#metrics.onBreakerState });
  }

  /** A pipeline file by name or path, read and hashed once per process. */
  #file(name: string): Promise<PipelineFile> {
    let file = this.#files.get(name);
    if (!file) {
      file = (async () => {
        const path = resolvePipeline(name, this.cwd);
        const bytes = await readFile(path).catch((err: unknown) => {
          throw new SluiceError("PATH_NOT_FOUND", `pipeline file not found: ${path}`, {
            cause: err,
            details: { path },
          });
        });
        return { path, version: versionOf(name, bytes), yaml: bytes.toString("utf8") };
      })();
      file.catch(() => this.#files.delete(name));
      this.#files.set(name, file);
    }
    return file;
  }

  /** Loads, validates and builds a pipeline by name or path (cached per process). */
  pipeline(name: string): Promise<CompiledPipeline> {
    let p = this.#pipelines.get(name);
    if (!p) {
      p = this.#file(name).then((f) => this.#build(loadTopology(f.yaml, f.path)));
      p.catch(() => this.#pipelines.delete(name));
      this.#pipelines.set(name, p);
    }
    return p;
  }

  /**
   * `name@<first 12 hex of the sha256 of its YAML>`: what envelopes record as the pipeline version.
   * Read and hashed once per process, like the compiled pipeline (it is asked on every submit), and
   * only once the pipeline builds.
   */
  async pipelineVersion(name: string): Promise<string> {
    await this.pipeline(name);
    return (await this.#file(name)).version;
  }

  /**
   * A query pipeline by name (shipped, or in `retrieval.pipelines`) or path: compiled, with the
   * YAML and version reader threads compile it from. An ingest pipeline is PIPELINE_INVALID.
   */
  async queryPipeline(name: string): Promise<QueryPipeline> {
    const file = this.config.retrieval.pipelines[name] ?? name;
    const pipeline = await this.pipeline(file);
    if (pipeline.kind !== "query")
      throw new SluiceError(
        "PIPELINE_INVALID",
        `pipeline "${name}" is an ingest pipeline; a query runs a query pipeline (its input is a Query): ${await this.#shippedOfKind("query")}`,
        { details: { pipeline: name, kind: pipeline.kind } },
      );
    const { version, yaml } = await this.#file(file);
    return { pipeline, version, yaml };
  }

  /** The shipped pipelines of one kind (compiled as any pipeline is, once), for error messages. */
  async #shippedOfKind(kind: PipelineKind): Promise<string> {
    const names = shippedPipelines();
    const built = await Promise.allSettled(names.map((n) => this.pipeline(n)));
    const ofKind = names.filter((_, i) => {
      const b = built[i]!;
      return b.status === "fulfilled" && b.value.kind === kind;
    });
    return ofKind.join(", ") || "(none)";
  }

  /**
   * The version a pipeline's file has now, read afresh (not the per-process copy); null when the
   * file is gone. A job whose `pipelineVersion` differs runs its snapshot, not this file.
   *
   * @example
   * if ((await sluice.pipelineFileVersion(job.pipeline)) !== job.pipelineVersion) console.log("file changed since");
   */
  async pipelineFileVersion(name: string): Promise<string | null> {
    try {
      return versionOf(name, await readFile(resolvePipeline(name, this.cwd)));
    } catch {
      return null;
    }
  }

  /**
   * The version a new job of `name` records, once that version's YAML is saved in the ledger (once
   * per process and version): the job's documents run that snapshot, whatever the file says later.
   */
  async #pin(name: string): Promise<string> {
    const version = await this.pipelineVersion(name);
    const { kind } = await this.pipeline(name);
    if (kind !== "ingest")
      throw new SluiceError(
        "PIPELINE_INVALID",
        `pipeline "${name}" is a query pipeline; documents run an ingest pipeline: ${await this.#shippedOfKind("ingest")}`,
        { details: { pipeline: name, kind } },
      );
    let saved = this.#pinned.get(version);
    if (!saved) {
      saved = this.#file(name).then((f) => this.ledger.savePipelineSnapshot(f.version, f.yaml));
      saved.catch(() => this.#pinned.delete(version));
      this.#pinned.set(version, saved);
    }
    await saved.catch((err: unknown) => {
      throw storeUnavailable(err) ?? err;
    });
    return version;
  }

  /**
   * The pipeline a document of a job runs: the snapshot of `version` saved when its job was created,
   * compiled once per version, whatever the file says now (said once per version in the log when
   * the file has changed since). By `name` when there is no version or no snapshot of it (a data
   * folder from before snapshots).
   */
  pipelineForRun(name: string, version?: string): Promise<CompiledPipeline> {
    if (!version) return this.pipeline(name);
    let p = this.#snapshots.get(version);
    if (!p) {
      p = this.#compileSnapshot(name, version);
      p.catch(() => this.#snapshots.delete(version));
      this.#snapshots.set(version, p);
    }
    return p;
  }

  async #compileSnapshot(name: string, version: string): Promise<CompiledPipeline> {
    const [yaml, now] = await Promise.all([this.ledger.pipelineSnapshot(version), this.pipelineFileVersion(name)]);
    const file = this.#shown(
      /\.ya?ml$/i.test(name) ? resolve(this.cwd, name) : join(SHIPPED_PIPELINES, `${name}.yaml`),
    );
    const fields = { pipeline: name, pipeline_version: version, file_version: now };
    if (yaml === null) {
      if (now !== version)
        this.logger.warn(
          fields,
          `no snapshot of pipeline ${version} in the ledger (a job from before snapshots): it runs ${file} as it is now${now ? ` (${now})` : ""}`,
        );
      return this.pipeline(name);
    }
    if (now !== version)
      this.logger.info(
        fields,
        `a job runs its pipeline snapshot ${version}; ${file} ${now ? `has changed since (now ${now})` : "is gone since"}`,
      );
    // The file as this process first read it is that very version: share its compiled pipeline.
    const read = await this.#files.get(name)?.catch(() => null);
    if (read?.version === version) return this.pipeline(name);
    return this.#build(loadTopology(yaml, `pipeline snapshot ${version}`));
  }

  /** A path as a log line shows it: relative to the working directory when under it. */
  #shown(path: string): string {
    const rel = relative(this.cwd, path);
    return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
  }

  /** Validates a topology file against the registry without running anything. */
  async validatePipeline(path: string): Promise<CompiledPipeline> {
    return buildPipeline(await loadTopologyFile(resolve(this.cwd, path)), this.#registry, this.#services());
  }

  /**
   * A pipeline's YAML as a DAG to draw, checked against this engine's stage registry: nodes,
   * typed edges, policies, and the error (with its node) when it does not build.
   */
  async describePipeline(yaml: string, source = "<pipeline>", name = "pipeline"): Promise<PipelineView> {
    return describePipeline(yaml, source, name, (topology) =>
      buildPipeline(topology, this.#registry, this.#services()),
    );
  }

  /** Every pipeline a job or a query may name: the shipped ones, then `retrieval.pipelines`, as name → file. */
  pipelineFiles(): Record<string, string> {
    const files: Record<string, string> = {};
    for (const name of shippedPipelines()) files[name] = resolvePipeline(name, this.cwd);
    for (const [name, file] of Object.entries(this.config.retrieval.pipelines)) files[name] = resolve(this.cwd, file);
    return files;
  }

  #gate(): Gate {
    this.#gateInstance ??= new Gate({
      queue: this.queue,
      dataDir: this.dataDir,
      limits: this.config.spool,
      maxDocumentBytes: this.config.ingest.maxDocumentBytes,
      onOutcome: this.#metrics.onGate,
    });
    return this.#gateInstance;
  }

  /**
   * Creates a job and passes its documents through the gate. `onJob` runs as soon as the job
   * exists, before its documents are admitted, so a caller can start a worker that drains while
   * the producer is paused by backpressure. With `pause: false` (HTTP) the spool's limits are
   * checked once up front and BACKPRESSURE is thrown instead of waiting.
   */
  async #submit(
    request: { collection: string; pipeline?: string; lane?: Lane; paths: string[] },
    refs: () => AsyncIterable<DocumentRef> | Iterable<DocumentRef>,
    options: SubmitOptions,
  ): Promise<Job & { accepted: string[] }> {
    assertCollectionName(request.collection);
    const pipeline = request.pipeline ?? "auto";
    const version = await this.#pin(pipeline);
    const gate = this.#gate();
    const pause = options.pause ?? true;
    if (!pause) await gate.check();
    const job = await this.ledger
      .createJob(
        { collection: request.collection, pipeline, paths: request.paths, pipelineVersion: version },
        this.owner,
      )
      .catch((err: unknown) => {
        throw storeUnavailable(err) ?? err;
      });
    this.events.publish(
      jobEvent("job.created", job, { pipelineVersion: version, paths: request.paths.map((p) => resolve(this.cwd, p)) }),
    );
    options.onJob?.(job);
    let accepted: string[];
    try {
      accepted = await gate.admit(
        { jobId: job.id, collection: request.collection, pipeline, version, lane: request.lane ?? "normal" },
        refs(),
        { pause, skipChecks: !pause, ...(options.signal ? { signal: options.signal } : {}) },
      );
    } catch (err) {
      const e = toSluiceError(err);
      this.#ended(await this.ledger.sealJob(job.id, `${e.code}: ${e.message}`), version);
      throw err;
    }
    return { ...this.#ended(await this.ledger.sealJob(job.id), version), accepted };
  }

  /** Reports a job that sealing ended (nothing left to run, or admission failed); returns it. */
  #ended(job: Job, pipelineVersion: string): Job {
    const type = jobEndType(job.state);
    if (type) this.events.publish(jobEvent(type, job, { pipelineVersion }));
    return job;
  }

  /** The real directories request paths must stay under (`ingest.allowedRoots`, SLUICE_INGEST_ROOTS). */
  allowedRoots(): string[] {
    return allowedRoots(this.config.ingest.allowedRoots, this.cwd);
  }

  /**
   * Ingests files, directories, globs or BEIR .jsonl files: enumerated and admitted through the
   * gate now. With `restricted` (paths from a request, not from the machine's own user) every
   * path, the pipeline file and every file found must resolve under the allowed roots.
   */
  async submitPaths(
    request: { collection: string; paths: string[]; pipeline?: string; lane?: Lane },
    options: SubmitOptions & { restricted?: boolean } = {},
  ): Promise<Job & { accepted: string[] }> {
    if (request.paths.length === 0) throw new SluiceError("VALIDATION_FAILED", "no paths given to ingest");
    const maxDocumentBytes = this.config.ingest.maxDocumentBytes;
    const roots = options.restricted ? this.allowedRoots() : undefined;
    if (roots) {
      for (const p of request.paths) await assertAllowedPath(p, roots, this.cwd);
      if (request.pipeline && /[\\/]|\.ya?ml$/i.test(request.pipeline))
        await assertAllowedPath(request.pipeline, roots, this.cwd);
    }
    // Fail on a missing path before a job exists.
    const first = expandPaths(request.paths, {
      cwd: this.cwd,
      maxDocumentBytes,
      ...(roots ? { allowedRoots: roots } : {}),
    });
    const head = await first.next();
    return this.#submit(request, () => prepend(head, first), options);
  }

  /**
   * Runs a scholarly source (`{ type: "openalex", query: "…" }`): pages through the API from where
   * the last run of the same query stopped and admits each page's records (documents with their
   * identifiers as metadata) into one job, saving the cursor after each page and, at the end, the
   * watermark the next run starts from. Records without text are skipped and listed.
   *
   * @throws SluiceError `VALIDATION_FAILED` for a bad spec, `UNKNOWN_SOURCE`, `CONFIG_INVALID`
   *   (Unpaywall without an email, an API key variable not set), and the API's `SOURCE_*` errors
   *   (the job is then FAILED with that reason; what was admitted before stays admitted)
   */
  async submitSource(
    request: { collection: string; source: unknown; pipeline?: string; lane?: Lane },
    options: SubmitOptions = {},
  ): Promise<Job & { accepted: string[] } & SourceRunResult> {
    // An unknown type first: its other fields would only draw errors about a source that is not there.
    const type = (request.source as { type?: unknown } | null)?.type;
    if (typeof type === "string") assertSourceType(type);
    const parsed = SourceSpecSchema.safeParse(request.source);
    if (!parsed.success) {
      const reasons = parsed.error.issues.map(
        (i) => `${i.path.length ? `source.${i.path.join(".")}` : "source"}: ${i.message}`,
      );
      throw new SluiceError("VALIDATION_FAILED", reasons.join("; "), { details: { issues: reasons } });
    }
    const spec = parsed.data;
    assertCollectionName(request.collection);
    const source = createLiteratureSource(spec.type, this.config.sources);
    const http = (this.#sourceHttp ??= createSourceHttp(this.config.sources));
    const key = sourceQueryKey(spec);
    const saved = await this.ledger.getSourceCursor(request.collection, spec.type, key);
    const pipeline = request.pipeline ?? "auto";
    const version = await this.#pin(pipeline);
    const pdfs = takesUrls(await this.pipeline(pipeline));
    const gate = this.#gate();
    const label = `source:${spec.type}`;
    const job = await this.ledger
      .createJob({ collection: request.collection, pipeline, paths: [label], pipelineVersion: version }, this.owner)
      .catch((err: unknown) => {
        throw storeUnavailable(err) ?? err;
      });
    this.events.publish(jobEvent("job.created", job, { pipelineVersion: version, paths: [label] }));
    options.onJob?.(job);
    const accepted: string[] = [];
    const target = { jobId: job.id, collection: request.collection, pipeline, version, lane: request.lane ?? "normal" };
    let result: SourceRunResult;
    try {
      result = await runSourcePages({
        source,
        http,
        spec,
        saved,
        pdfs,
        admit: async (refs) => {
          const pause = options.pause ?? true;
          const ids = await gate.admit(target, refs, { pause, ...(options.signal ? { signal: options.signal } : {}) });
          accepted.push(...ids);
        },
        save: (state) => this.ledger.saveSourceCursor(request.collection, spec.type, key, { ...state, jobId: job.id }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (err) {
      const e = toSluiceError(err);
      this.#ended(await this.ledger.sealJob(job.id, `${e.code}: ${e.message}`), version);
      throw err;
    }
    return { ...this.#ended(await this.ledger.sealJob(job.id), version), accepted, ...result };
  }

  /** Ingests documents given inline (HTTP JSON uploads). */
  async submitDocuments(
    request: { collection: string; documents: InlineDocument[]; pipeline?: string; lane?: Lane },
    options: SubmitOptions = {},
  ): Promise<Job & { accepted: string[] }> {
    const refs: DocumentRef[] = request.documents.map((d) => {
      const common = { id: d.id, ...(d.title !== undefined ? { title: d.title } : {}), meta: d.meta ?? {} };
      return d.url !== undefined
        ? { ...common, source: d.url, kind: "url", url: d.url }
        : { ...common, source: `upload:${d.id}`, kind: "inline", text: d.text, mediaType: "text/plain" };
    });
    return this.#submit({ ...request, paths: [] }, () => refs, options);
  }

  /**
   * How a failed document of `pipeline` goes back to the queue: its `requeue` policy, or
   * `spool.maxAttempts` and `spool.retry`.
   */
  requeuePolicy(pipeline: CompiledPipeline): RequeuePolicy {
    const s = this.config.spool;
    return { retry: pipeline.requeue ?? { attempts: s.maxAttempts, ...s.retry }, deadlineMs: s.documentDeadlineMs };
  }

  #worker(options: RunJobOptions): Worker {
    const s = this.config.spool;
    return new Worker(this.#stores, (name, version) => this.pipelineForRun(name, version), {
      owner: this.owner,
      concurrency: this.config.ingest.concurrency,
      leaseMs: s.leaseMs,
      policyFor: (pipeline) => this.requeuePolicy(pipeline),
      ...(options.onDocument ? { onDocument: options.onDocument } : {}),
      onEvent: (event) => {
        this.#metrics.onStage(event);
        this.events.publish(event);
      },
      onJobEvent: this.events.publish,
      onRecovered: (r) => {
        this.#metrics.onRecovered(r.suspects + r.blamed);
        this.logger.warn(
          { suspects: r.suspects, blamed: r.blamed },
          "recovered documents from a worker that died or stalled",
        );
      },
      onDeadLetter: this.#metrics.onDeadLetter,
      collectionLock: this.locks,
      lockTtlMs: this.config.locks.ttlMs,
      logger: this.logger,
      onIdle: () => this.#pruneWhenDue(),
    });
  }

  #prunedAt = 0;

  /** Job retention, run by idle workers at most once a minute; `jobs.retentionMs: 0` keeps every job. */
  async #pruneWhenDue(): Promise<void> {
    const retention = this.config.jobs.retentionMs;
    if (retention === 0 || Date.now() - this.#prunedAt < 60_000) return;
    this.#prunedAt = Date.now();
    const pruned = await this.pruneJobs(retention);
    if (pruned > 0) this.logger.info({ pruned, retention_ms: retention }, "pruned finished jobs past their retention");
  }

  /** Runs one job's documents in this process until the job ends, is cancelled, or `signal` aborts. */
  async runJob(jobId: string, options: RunJobOptions = {}): Promise<Job> {
    await this.ledger.getJob(jobId);
    await this.#worker(options).drain({
      jobId,
      isAlive: ownerAlive,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return this.ledger.getJob(jobId);
  }

  /** Worker loop over the whole queue, lane-fair; with `exitWhenIdle`, returns when nothing is left. */
  async work(options: RunJobOptions & { exitWhenIdle?: boolean; pollMs?: number } = {}): Promise<void> {
    await this.#worker(options).drain({
      isAlive: ownerAlive,
      ...(options.exitWhenIdle ? { exitWhenIdle: true } : {}),
      ...(options.pollMs ? { pollMs: options.pollMs } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }

  /** The engine's Prometheus registry (spool, gate, dead letters, stage durations). */
  get metrics(): EngineMetrics {
    return this.#metrics;
  }

  getJob(jobId: string, options: GetJobOptions = {}): Promise<Job> {
    return this.ledger.getJob(jobId, options);
  }

  /** Jobs, newest last. */
  listJobs(options: { limit?: number } = {}): Promise<Job[]> {
    return this.ledger.listJobs(options);
  }

  /**
   * Cancels a job: its waiting documents are retired at once, and workers on every host stop its
   * documents in flight at their next heartbeat. Reports `job.cancelled`.
   */
  async cancelJob(jobId: string): Promise<Job> {
    const job = await this.ledger.cancelJob(jobId);
    await this.queue.cancelJob(jobId);
    this.events.publish(jobEvent("job.cancelled", job));
    return job;
  }

  /** Makes a job runnable again; leases held by dead local processes are freed at once. */
  async resumeJob(jobId: string): Promise<Job> {
    await this.queue.recover(ownerAlive);
    const job = await this.ledger.resumeJob(jobId);
    await this.queue.requeueJob(jobId);
    return job;
  }

  /**
   * Deletes finished jobs older than `jobs.retentionMs` (or `olderThanMs`) and their records; the
   * index is untouched.
   */
  async pruneJobs(olderThanMs = this.config.jobs.retentionMs): Promise<number> {
    return this.ledger.pruneJobs(Date.now() - olderThanMs);
  }

  spoolStats(): Promise<QueueStats> {
    return this.queue.stats();
  }

  deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.queue.deadLetters(limit);
  }

  /** Sends a dead letter back to work; its document and job run again. False when `seq` is not a dead letter. */
  async retryDeadLetter(seq: number): Promise<boolean> {
    const back = await this.queue.retryDeadLetter(seq);
    if (back) await this.ledger.reopenDocument(back.jobId, back.docId);
    return back !== null;
  }

  dropDeadLetter(seq: number): Promise<boolean> {
    return this.queue.dropDeadLetter(seq);
  }

  compactSpool(): Promise<number> {
    return this.queue.compact();
  }

  /** The query reranker of `retrieval.rerank.backend`: the model plane's, or an HTTP rerank API. */
  reranker(): Reranker {
    this.#reranker ??= createReranker(this.config.retrieval.rerank, this.models, process.env);
    return this.#reranker;
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

  /** Reader threads for queries, where asked for and usable: the embedded index on disk, the extractive answer. */
  #readerPool(threads: number): ReaderPool | null {
    const { store, config } = this;
    if (threads <= 0 || !(store instanceof SqliteIndexStore) || store.path === ":memory:") return null;
    if (config.answer.backend !== "extractive") return null;
    return new ReaderPool({ indexPath: store.path, config }, threads, {
      onSegmentsBuilt: (collection, stats) => {
        this.#metrics.onSegmentsBuilt(collection, stats.bytes, stats.buildMs / 1000);
        this.logger.info(
          { collection, chunks: stats.documents, vectors: stats.vectors, bytes: stats.bytes, buildMs: stats.buildMs },
          "search segments built",
        );
      },
      reranker: () => this.reranker(),
    });
  }

  /**
   * Searches a collection and answers with citations: cached, paged, filtered and reranked as
   * asked ({@link QueryService}).
   */
  query(request: QueryRequest): Promise<QueryResponse> {
    this.#queries ??= new QueryService({
      store: this.store,
      ledger: this.ledger,
      config: this.config,
      metrics: this.#metrics,
      readers: this.#readers,
      embedder: () => this.embedder(),
      pipeline: (name) => this.queryPipeline(name),
      answerer: () => this.answerer(),
    });
    return this.#queries.query(request);
  }

  /**
   * Starts the reader threads (`readerThreads`) now, so they build their search segments before
   * the first query rather than during it; `sluice serve` calls it before it listens.
   */
  startReaders(): void {
    this.#readers?.start();
  }

  /**
   * A collection's counts, with `pending`: documents accepted for it that are not indexed yet. A
   * collection exists from the moment a document is accepted for it (empty until the first is
   * indexed); one with neither is COLLECTION_NOT_FOUND.
   */
  async stats(collection: string): Promise<CollectionInfo & { pending: number }> {
    const [info, pending] = await Promise.all([
      this.store.getCollection(collection),
      this.ledger.pendingDocuments(collection),
    ]);
    if (info) return { ...info, pending };
    if (pending > 0)
      return {
        name: collection,
        documents: 0,
        chunks: 0,
        embedder: null,
        dimensions: null,
        createdAt: new Date().toISOString(),
        version: 0,
        pending,
      };
    const known = (await this.store.listCollections()).map((c) => c.name);
    throw collectionNotFound(collection, known);
  }

  async deleteDocument(collection: string, docId: string): Promise<void> {
    await this.stats(collection);
    if (!(await this.store.deleteDocument(collection, docId))) {
      throw new SluiceError("DOCUMENT_NOT_FOUND", `document "${docId}" is not in collection "${collection}"`, {
        details: { collection, docId },
      });
    }
  }
}
