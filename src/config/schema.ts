import { z } from "zod";
import { EventsConfigSchema, LineageConfigSchema } from "./events-schema.ts";
import { SourcesConfigSchema } from "./sources-schema.ts";

/** pino log levels, quietest first; `silent` writes nothing. */
export const LOG_LEVELS = ["silent", "fatal", "error", "warn", "info", "debug", "trace"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Dense embedder choice. `static` (the default) and `use-lite` are bundled and offline; the others
 * are one config line away. On faq-en (`npm run bench:retrieval`) `static` gave dense nDCG@10 0.445
 * and hybrid 0.630, embedding 2,600-4,600 documents/s with a query p95 of 0.1-0.3 ms once its words are known;
 * `use-lite` gave 0.340 and 0.637 at about 8-16 texts/s and 40-100 ms per query, and needs no word
 * cache: choose it where a query's unseen words matter more than speed.
 */
export const EmbedderConfigSchema = z.discriminatedUnion("backend", [
  z.object({ backend: z.literal("use-lite"), batchSize: z.number().int().positive().default(16) }).strict(),
  z
    .object({
      backend: z.literal("onnx"),
      /** A local folder in transformers.js layout (config.json, tokenizer.json, onnx/model.onnx). */
      path: z.string(),
      pooling: z.enum(["mean", "cls"]).default("mean"),
      queryPrefix: z.string().default(""),
      passagePrefix: z.string().default(""),
      batchSize: z.number().int().positive().default(32),
    })
    .strict(),
  z
    .object({
      backend: z.literal("openai"),
      url: z.string().url(),
      model: z.string(),
      dimensions: z.number().int().positive(),
      /** Name of the environment variable that holds the API key (never the key itself). */
      apiKeyEnv: z.string().optional(),
      batchSize: z.number().int().positive().default(64),
      timeoutMs: z.number().int().positive().default(30000),
    })
    .strict(),
  z
    .object({
      /**
       * A word table distilled from the bundled USE-lite: each word is embedded alone by USE-lite the
       * first time a passage holds it, then reused from `static-embedder.db` in the data folder.
       */
      backend: z.literal("static"),
      /** Word weight a/(a+p(w)), p from USE-lite's piece scores; changing it changes the model id. */
      a: z.number().positive().default(1e-4),
      /** Unseen words per USE-lite call at ingest. */
      batchSize: z.number().int().positive().default(256),
      /** Words kept in memory (about 2 KiB each); the rest are read from the file. */
      memoryWords: z.number().int().positive().default(32768),
      /** Where `static-embedder.db` lives; default the data folder (a model server has none: memory only). */
      cacheDir: z.string().min(1).optional(),
      /**
       * Where the machine-wide copy of USE-lite's piece table lives (`static-pieces.db`, ~16 MiB):
       * it depends on the model alone, so a new data folder (or a model server) copies it instead of
       * computing it again (5-20 s). Default `$XDG_CACHE_HOME/sluice` or `~/.cache/sluice`; `false`: none.
       */
      pieceCacheDir: z.union([z.string().min(1), z.literal(false)]).optional(),
    })
    .strict(),
  z
    .object({
      backend: z.literal("hash"),
      /** Feature-hashing embedder: fast, deterministic, no model. For tests and engine benchmarks. */
      dimensions: z.number().int().positive().default(256),
      batchSize: z.number().int().positive().default(256),
    })
    .strict(),
]);
export type EmbedderConfig = z.infer<typeof EmbedderConfigSchema>;

export const AnswerConfigSchema = z.discriminatedUnion("backend", [
  z.object({ backend: z.literal("extractive"), sentences: z.number().int().min(1).max(10).default(3) }).strict(),
  z
    .object({
      backend: z.literal("openai"),
      url: z.string().url(),
      model: z.string(),
      apiKeyEnv: z.string().optional(),
      timeoutMs: z.number().int().positive().default(60000),
      maxTokens: z.number().int().positive().default(512),
    })
    .strict(),
]);
export type AnswerConfig = z.infer<typeof AnswerConfigSchema>;

export const RetrievalConfigSchema = z
  .object({
    /** Measured on faq-en (README): convex 0.65/0.35 beats RRF at every weight and k tried. */
    fusion: z.enum(["rrf", "convex"]).default("convex"),
    /** RRF constant. */
    rrfK: z.number().positive().default(60),
    /** Per-list weights for hybrid fusion (convex normalises them to sum to 1). */
    weights: z
      .object({
        lexical: z.number().min(0).default(0.65),
        dense: z.number().min(0).default(0.35),
        sparse: z.number().min(0).default(0),
      })
      .strict()
      .prefault({}),
    /** How many candidates each retriever contributes before fusion. */
    candidates: z.number().int().positive().default(50),
    /**
     * The query pipeline a query runs when it names none: a shipped one (`query`) or a path to a
     * YAML file of query stages (retrievers, fusion, rerank, answer).
     */
    pipeline: z.string().min(1).default("query"),
    /**
     * Query pipelines a query may name (`"pipeline"` in `POST /v1/query`, `--pipeline`), by name:
     * a YAML file's path, relative to the working directory. The API names no files itself.
     */
    pipelines: z.record(z.string().regex(/^[a-z][a-z0-9_-]{0,63}$/), z.string().min(1)).default({}),
    /**
     * Threads `sluice serve` retrieves and answers queries in, each with its own read connection
     * to the embedded index, so the HTTP loop only parses and dispatches. `auto`: one per core;
     * `0`: on the event loop. Other commands and the library query on their own thread.
     */
    readerThreads: z.union([z.literal("auto"), z.number().int().min(0).max(64)]).default("auto"),
    /**
     * Search segments in the reader threads: each holds an in-memory copy of a collection's
     * lexical postings and vectors, searched with MaxScore pruning and a flat vector scan instead
     * of FTS5 and sqlite-vec (same results, several times faster). A collection that changed is
     * searched in SQLite until its version has held for `quietMs`, then its segments are rebuilt.
     */
    segments: z
      .object({
        enabled: z.boolean().default(true),
        quietMs: z.number().int().min(0).default(1000),
        /**
         * An IVF index in a collection's dense segment once it holds `minVectors` vectors (exact
         * search below): `lists` cells (0: about √vectors), of which a query scans the `probes`
         * nearest (0: an eighth, at least 8). Filtered queries stay exact.
         */
        ann: z
          .object({
            minVectors: z.number().int().min(1).default(100_000),
            lists: z.number().int().min(0).default(0),
            probes: z.number().int().min(0).default(0),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Rerank the fused candidates before the answer (off by default; a query's `rerank` overrides
     * `enabled`). `models`: the model plane's reranker (in process: cosine over the embedder; with
     * `models.mode: remote`: the model server's gRPC Rerank). `http`: a rerank API people run,
     * Hugging Face TEI `/rerank` or the Cohere/Jina shape.
     */
    rerank: z
      .object({
        enabled: z.boolean().default(false),
        /** Candidates the reranker sees; the best `k` of them are returned. */
        candidates: z.number().int().min(1).max(1000).default(30),
        backend: z.enum(["models", "http"]).default("models"),
        http: z
          .object({
            url: z.string().url(),
            api: z.enum(["tei", "cohere"]),
            model: z.string().min(1).optional(),
            /** Name of the environment variable holding the API key (sent as a bearer token). */
            apiKeyEnv: z.string().min(1).optional(),
            timeoutMs: z.number().int().min(1).default(10_000),
          })
          .strict()
          .optional(),
      })
      .strict()
      .refine((r) => r.backend !== "http" || r.http !== undefined, {
        message: "retrieval.rerank.backend http needs retrieval.rerank.http (url, api)",
      })
      .prefault({}),
    /**
     * Remembered queries, least recently used forgotten first (0 turns one off). `results`: whole
     * answers keyed by collection version, query and parameters, so any write to the collection
     * retires them; `queryVectors`: query embeddings keyed by model and text.
     */
    cache: z
      .object({
        results: z.number().int().min(0).default(1024),
        queryVectors: z.number().int().min(0).default(4096),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type RetrievalConfig = z.infer<typeof RetrievalConfigSchema>;

/** Paths of PEM files; a TLS config with any of them missing stops startup with a message naming it. */
const TlsFilesSchema = z.object({ ca: z.string().min(1), cert: z.string().min(1), key: z.string().min(1) }).strict();

/** How the gateway and pipeline workers reach models: in this process, or `sluice model-server` over gRPC. */
export const ModelsConfigSchema = z
  .object({
    /** `remote` (env SLUICE_MODELS=remote) keeps every ML runtime out of this process. */
    mode: z.enum(["in-process", "remote"]).default("in-process"),
    /**
     * Worker threads that run an in-process `static` or `use-lite` embedder off the event loop, so
     * HTTP answers and the queue keep moving while it computes, and other cores help (env
     * SLUICE_MODEL_THREADS). `auto`: one fewer than the machine's cores, at least 1; `0`: on the
     * event loop, as before. Each thread loads its own model (USE-lite: about 100 MB). `hash`,
     * `onnx` and `openai` ignore it (too cheap for the hop, or already off the event loop); the
     * model server uses it too.
     */
    threads: z.union([z.literal("auto"), z.number().int().min(0).max(64)]).default("auto"),
    remote: z
      .object({
        /** host:port of the model server (env SLUICE_MODEL_SERVER). */
        address: z.string().min(1).default("127.0.0.1:50051"),
        /**
         * mTLS: the CA that signed the server, and this client's certificate and key. Absent:
         * plaintext (loopback servers only).
         */
        tls: TlsFilesSchema.extend({ serverName: z.string().min(1).optional() })
          .strict()
          .optional(),
        /** Deadline of one call when the stage gives none. */
        timeoutMs: z.number().int().positive().default(30_000),
        /** Calls in flight at most; RESOURCE_EXHAUSTED halves the window, successes widen it again. */
        maxInFlight: z.number().int().min(1).max(1024).default(32),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});
export type ModelsConfig = z.infer<typeof ModelsConfigSchema>;

/** `sluice model-server`: what it loads, how it batches, who may call it. */
export const ModelServerConfigSchema = z
  .object({
    /** host:port to bind (env SLUICE_MODEL_SERVER_LISTEN; `--listen` wins over both). */
    listen: z.string().min(1).default("127.0.0.1:50051"),
    /** Without TLS the server binds to loopback only, unless this says otherwise. */
    allowInsecureNonLoopback: z.boolean().default(false),
    tls: TlsFilesSchema.extend({
      /** Client certificate CNs allowed to call; a certificate signed by the CA with another CN is refused. */
      allowedClients: z.array(z.string().min(1)).min(1),
    })
      .strict()
      .optional(),
    /** host:port for Prometheus `/metrics` and HTTP health; off unless set. */
    metricsListen: z.string().min(1).optional(),
    /** Which services it loads. The embedder is the top-level `embedder`. */
    services: z
      .array(z.enum(["embed", "sparse", "rerank", "ocr"]))
      .min(1)
      .default(["embed", "sparse", "rerank", "ocr"]),
    batching: z
      .object({
        /** Most texts in one model batch. */
        maxBatchItems: z.number().int().min(1).default(64),
        /** Most characters (a token proxy) in one model batch. */
        maxBatchChars: z.number().int().min(1).default(64_000),
        /**
         * How long a partial batch waits for company while the model is idle. 0 (the default): an
         * idle model takes the first call at once, and calls that arrive while it works share the
         * next batch, so batches fill under load without costing latency when there is none.
         */
        maxWaitMs: z.number().min(0).default(0),
        /** Texts waiting at most; past it calls get RESOURCE_EXHAUSTED. */
        maxQueuedItems: z.number().int().min(1).default(4096),
      })
      .strict()
      .prefault({}),
    residency: z
      .object({
        /** Idle time after which a model is unloaded when memory is plentiful. */
        keepAliveMs: z
          .number()
          .int()
          .min(0)
          .default(15 * 60_000),
        /** Memory pressure (0-1) above which idle models go at once and GPUs count as unavailable. */
        highWatermark: z.number().min(0).max(1).default(0.9),
        /** How often device memory is sampled and idle models are checked. */
        pollMs: z.number().int().min(100).default(5_000),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .prefault({});
export type ModelServerConfig = z.infer<typeof ModelServerConfigSchema>;

/**
 * One request limit: at most `max` requests per `windowMs`, per user (a sliding window).
 *
 * @example
 * RateLimitRuleSchema.parse({ max: 10 }); // { max: 10, windowMs: 60000 }
 */
export const RateLimitRuleSchema = z
  .object({ max: z.number().int().min(1), windowMs: z.number().int().min(1).default(60_000) })
  .strict();
/**
 * A parsed {@link RateLimitRuleSchema}.
 *
 * @example
 * const rule: RateLimitRule = { max: 120, windowMs: 60_000 };
 */
export type RateLimitRule = z.infer<typeof RateLimitRuleSchema>;

/**
 * Admission control of `POST /v1/query` in each server: at most `maxConcurrent` queries run at
 * once, the others wait (fairly across tenants) up to `queueTimeoutMs`, and at most `maxQueued`
 * wait; past either limit the query is refused at once with 503 `OVERLOADED` and `Retry-After`.
 *
 * @example
 * QueryAdmissionConfigSchema.parse({ maxConcurrent: 4 }); // { maxConcurrent: 4, maxQueued: 256, queueTimeoutMs: 1000 }
 */
export const QueryAdmissionConfigSchema = z
  .object({
    maxConcurrent: z.number().int().min(1).default(8),
    maxQueued: z.number().int().min(0).default(256),
    queueTimeoutMs: z.number().int().min(1).default(1_000),
  })
  .strict()
  .prefault({});

/** A limit, or `false` for none. */
const OptionalRateLimitSchema = z.union([RateLimitRuleSchema, z.literal(false)]);

/**
 * Per-user (the authenticated principal, else the client IP), per-route request limits of the
 * HTTP API; over one → 429 `RATE_LIMITED` with `Retry-After`. Kept in this process, or in Redis
 * when `redis.url` is set, so every server sharing that Redis shares the limits.
 *
 * @example
 * RateLimitsConfigSchema.parse({ answer: { max: 5 }, ingest: { max: 100, windowMs: 3_600_000 } });
 */
export const RateLimitsConfigSchema = z
  .object({
    /** `POST /v1/query` that writes an answer (`answer` true or omitted): the expensive call. */
    answer: OptionalRateLimitSchema.default({ max: 10, windowMs: 60_000 }),
    /** `POST /v1/query` with `"answer": false`: retrieval only. */
    query: OptionalRateLimitSchema.default({ max: 120, windowMs: 60_000 }),
    /** Starting an ingest: `POST /v1/collections/:c/documents` (uploads) and `POST /v1/jobs`. Unlimited by default. */
    ingest: OptionalRateLimitSchema.default(false),
    /** Any other route, by method and Fastify route pattern; wins over the classes above for its route. */
    routes: z
      .record(
        z
          .string()
          .regex(
            /^(GET|HEAD|POST|PUT|PATCH|DELETE) \/\S*$/,
            'must be "<METHOD> <route>", e.g. "POST /v1/jobs/:id/cancel"',
          ),
        OptionalRateLimitSchema,
      )
      .default({}),
  })
  .strict()
  .prefault({});
/**
 * A parsed {@link RateLimitsConfigSchema}: `sluice.config.api.rateLimits`.
 *
 * @example
 * const limits: RateLimitsConfig = sluice.config.api.rateLimits;
 */
export type RateLimitsConfig = z.infer<typeof RateLimitsConfigSchema>;

/**
 * The whole `sluice.yaml`, defaults filled. Env overrides (src/config/env-overrides.ts) are
 * applied by `loadConfig` before this schema checks the result.
 *
 * @example
 * SluiceConfigSchema.parse({}).database; // "sqlite"
 */
export const SluiceConfigSchema = z
  .object({
    /**
     * `production` (env SLUICE_ENV) makes `sluice serve` refuse to start without authentication or
     * with a weak secret.
     */
    environment: z.enum(["development", "production"]).default("development"),
    embedder: EmbedderConfigSchema.default({ backend: "static", a: 1e-4, batchSize: 256, memoryWords: 32768 }),
    models: ModelsConfigSchema,
    /** OCR defaults; a stage's `languages` (the job's pipeline snapshot) wins per call. */
    ocr: z
      .object({
        languages: z
          .string()
          .regex(/^[a-z_]{3,}(\+[a-z_]{3,})*$/, "tesseract codes joined by +, e.g. eng+tha")
          .default("eng+tha"),
      })
      .strict()
      .prefault({}),
    modelServer: ModelServerConfigSchema,
    answer: AnswerConfigSchema.default({ backend: "extractive", sentences: 3 }),
    retrieval: RetrievalConfigSchema.prefault({}),
    ingest: z
      .object({
        /** Documents processed at once per job; the embedder batches across them. */
        concurrency: z.number().int().min(1).max(256).default(16),
        /**
         * Write the embedded (SQLite) index on a worker thread with a connection of its own (env
         * SLUICE_INDEX_WRITE_THREAD): transactions and commits leave the event loop, which lowers
         * `sluice serve`'s answer times under ingest (bench:health p99 34 ms against 46 ms) but costs
         * about a tenth of ingest throughput on 2 cores (bench:ingest). Default false.
         */
        writeThread: z.boolean().default(false),
        maxDocumentBytes: z
          .number()
          .int()
          .positive()
          .default(100 * 1024 * 1024),
        /**
         * Directories that paths in HTTP requests may name (env SLUICE_INGEST_ROOTS,
         * colon-separated). Default: the directory the server started in. The CLI is not limited: its user
         * already has their own file system.
         */
        allowedRoots: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .prefault({}),
    /**
     * The `source.download` stage: what it may fetch, and how much. Hosts that resolve to a private, loopback,
     * link-local, unspecified, multicast or reserved address are refused unless allowed here.
     */
    /** The scholarly APIs: base URLs, contacts, API key variables and pace (sources-schema.ts). */
    sources: SourcesConfigSchema,
    download: z
      .object({
        /** Allow every non-public address (private, loopback, link-local including 169.254.169.254, …). */
        allowPrivateNetworks: z.boolean().default(false),
        /** Exact host names (or IP literals) allowed even when they resolve to a non-public address. */
        allowedHosts: z.array(z.string().min(1)).default([]),
        /** Largest body accepted, in bytes; a bigger announced or streamed body is aborted. */
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(100 * 1024 * 1024),
        /** Redirects followed per download; each hop's host is checked again. */
        maxRedirects: z.number().int().min(0).max(20).default(5),
        /** Whole download, from the first request to the last byte. */
        timeoutMs: z.number().int().positive().default(60_000),
        /** Requests started per second to one host (a token bucket per host, shared by the stage's runs). */
        perHostPerSecond: z.number().positive().default(5),
        userAgent: z.string().min(1).default("sluice/0.1 (+https://sluice.dev)"),
      })
      .strict()
      .prefault({}),
    spool: z
      .object({
        /** Live documents (waiting or in flight) above which the gate pushes back. */
        maxPending: z.number().int().positive().default(200_000),
        /** Bytes of live envelopes above which the gate pushes back. */
        maxBytes: z
          .number()
          .int()
          .positive()
          .default(4 * 1024 * 1024 * 1024),
        /** Free disk space the data directory must keep. */
        minFreeBytes: z
          .number()
          .int()
          .nonnegative()
          .default(256 * 1024 * 1024),
        /** Leases after which a document that never completes goes to the dead-letter lane. */
        maxAttempts: z.number().int().min(1).default(5),
        /** Time from acceptance after which an unfinished document goes to the dead-letter lane. */
        documentDeadlineMs: z
          .number()
          .int()
          .positive()
          .default(6 * 60 * 60 * 1000),
        leaseMs: z.number().int().min(1000).default(30_000),
        /** Backoff between a failed document's attempts, unless its pipeline names a `requeue` policy. */
        retry: z
          .object({
            initialDelayMs: z.number().int().min(0).default(1000),
            maxDelayMs: z.number().int().min(0).default(60_000),
            jitter: z.boolean().default(true),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * Where jobs, the spool and the index live: `sqlite` (the data folder's `ledger.db` and
     * `index.db`) or `postgres` (`postgres.url`; the index needs pgvector).
     */
    database: z.enum(["sqlite", "postgres"]).default("sqlite"),
    postgres: z
      .object({
        /** `postgres://user@host:port/db`; env SLUICE_DATABASE_URL (keep passwords there). */
        url: z.string().min(1).optional(),
        /** Schema Sluice's tables live in (created on start). */
        schema: z
          .string()
          .regex(/^[a-z_][a-z0-9_]{0,62}$/, "a lowercase SQL identifier")
          .default("sluice"),
        /** The index's dense search: pgvector HNSW (cosine), one index per collection. */
        hnsw: z
          .object({
            /**
             * Graph links per node (pgvector `m`); fixed when a collection's index is built. 24
             * with `efConstruction` 128 (pgvector's defaults are 16 and 64): on 1M clustered
             * 384-d vectors, 16/64 lost whole neighbourhoods (recall@10 0.93-0.95 whatever
             * `efSearch`), 24/128 gives 1.0 at `efSearch` 200 (`npm run bench:index`).
             */
            m: z.number().int().min(2).max(100).default(24),
            /** Candidates kept while building (pgvector `ef_construction`); fixed at build. */
            efConstruction: z.number().int().min(4).max(1000).default(128),
            /** Candidates kept while searching (`hnsw.ef_search`): recall against latency, per query. */
            efSearch: z.number().int().min(1).max(1000).default(200),
            /**
             * A filtered dense search whose filter matches at most this many chunks ranks them
             * exactly instead of through the graph, so a narrow filter loses no recall.
             */
            exactBelow: z.number().int().min(0).default(20_000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /**
     * How workers find work: `embedded` (lease from the database) or `bullmq` (dispatched through
     * Redis, `redis.url`).
     */
    queue: z.enum(["embedded", "bullmq"]).default("embedded"),
    jobs: z
      .object({
        /**
         * Finished jobs and their document records are deleted this long after they end (`0` keeps
         * them). The index is not touched.
         */
        retentionMs: z
          .number()
          .int()
          .min(0)
          .default(24 * 60 * 60 * 1000),
      })
      .strict()
      .prefault({}),
    /** Lifecycle CloudEvents: a JSONL file, an HTTP endpoint (`events.http`). */
    events: EventsConfigSchema,
    /** OpenLineage run events per job and stage; off unless `lineage.url` is set. */
    lineage: LineageConfigSchema,
    /**
     * OpenTelemetry traces; off unless an OTLP endpoint is set (`otlpUrl`, `tracesUrl`, or env
     * OTEL_EXPORTER_OTLP_ENDPOINT / OTEL_EXPORTER_OTLP_TRACES_ENDPOINT).
     */
    tracing: z
      .object({
        /** OTLP/HTTP collector, e.g. `http://127.0.0.1:4318` (`/v1/traces` is added when the URL has no path). */
        otlpUrl: z.string().url().optional(),
        /**
         * The full OTLP/HTTP traces URL, used as is; wins over `otlpUrl`. Env
         * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT sets it, and OTEL_EXPORTER_OTLP_ENDPOINT sets it to
         * that base with `/v1/traces` appended (the OTLP exporter spec).
         */
        tracesUrl: z.string().url().optional(),
        /** `service.name` of the spans (env OTEL_SERVICE_NAME). */
        serviceName: z.string().min(1).default("sluice"),
        /** `false` keeps tracing off even with an endpoint set (env OTEL_SDK_DISABLED=true). */
        enabled: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** JSON logs on stderr (env SLUICE_LOG_LEVEL); `silent`, the default, writes none. */
    logging: z
      .object({ level: z.enum(LOG_LEVELS).default("silent") })
      .strict()
      .prefault({}),
    /** HTTP API policy. */
    api: z.object({ rateLimits: RateLimitsConfigSchema, queries: QueryAdmissionConfigSchema }).strict().prefault({}),
    /**
     * A Redis shared by every Sluice process of a deployment. Set, it holds the API's rate limits
     * and the collection ingest locks; unset, limits stay in each process and locks in `ledger.db`.
     */
    redis: z
      .object({
        /** `redis://[user:password@]host:port[/db]`; env SLUICE_REDIS_URL (keep passwords there). */
        url: z.string().min(1).optional(),
        /** Prepended to every key Sluice writes. */
        keyPrefix: z.string().min(1).default("sluice:"),
      })
      .strict()
      .prefault({}),
    locks: z
      .object({
        /** A collection's ingest lock lapses this long after its holder last renewed it (renewed while held). */
        ttlMs: z.number().int().min(1000).default(300_000),
        /**
         * Take each collection's ingest lock before running its documents, so two ingests never
         * interleave. Scale-out workers draining one queue turn it off: their writes are
         * idempotent and must run side by side.
         */
        collections: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    server: z
      .object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(8080) })
      .strict()
      .prefault({}),
    /**
     * HTTP API authentication; on as soon as a JWT secret, a JWKS URL or an internal secret is
     * configured. Secrets live in env (SLUICE_AUTH_JWT_SECRET, SLUICE_INTERNAL_SECRET, which win)
     * or in the files named here, never in this file; they are read where they are used, never
     * into the config.
     */
    auth: z
      .object({
        /** File holding the HS256 secret user tokens are signed with. */
        jwtSecretFile: z.string().min(1).optional(),
        /** JWKS URL for RS256/ES256 user tokens (an identity provider's `jwks_uri`). */
        jwksUrl: z.string().url().optional(),
        /** Required `iss` claim. */
        issuer: z.string().min(1).optional(),
        /** Required `aud` claim. */
        audience: z.string().min(1).optional(),
        /** File holding the secret Sluice processes present to each other in `x-sluice-internal`. */
        internalSecretFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type SluiceConfig = z.infer<typeof SluiceConfigSchema>;
