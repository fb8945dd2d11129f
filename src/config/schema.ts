import { z } from "zod";

/** Dense embedder choice. `use-lite` is bundled and offline; the others are one config line away. */
export const EmbedderConfigSchema = z.discriminatedUnion("backend", [
  z.object({ backend: z.literal("use-lite"), batchSize: z.number().int().positive().default(16) }).strict(),
  z.object({
    backend: z.literal("onnx"),
    /** A local folder in transformers.js layout (config.json, tokenizer.json, onnx/model.onnx). */
    path: z.string(),
    pooling: z.enum(["mean", "cls"]).default("mean"),
    queryPrefix: z.string().default(""),
    passagePrefix: z.string().default(""),
    batchSize: z.number().int().positive().default(32),
  }).strict(),
  z.object({
    backend: z.literal("openai"),
    url: z.string().url(),
    model: z.string(),
    dimensions: z.number().int().positive(),
    /** Name of the environment variable that holds the API key (never the key itself). */
    apiKeyEnv: z.string().optional(),
    batchSize: z.number().int().positive().default(64),
    timeoutMs: z.number().int().positive().default(30000),
  }).strict(),
  z.object({
    backend: z.literal("hash"),
    /** Feature-hashing embedder: fast, deterministic, no model. For tests and engine benchmarks. */
    dimensions: z.number().int().positive().default(256),
    batchSize: z.number().int().positive().default(256),
  }).strict(),
]);
export type EmbedderConfig = z.infer<typeof EmbedderConfigSchema>;

export const AnswerConfigSchema = z.discriminatedUnion("backend", [
  z.object({ backend: z.literal("extractive"), sentences: z.number().int().min(1).max(10).default(3) }).strict(),
  z.object({
    backend: z.literal("openai"),
    url: z.string().url(),
    model: z.string(),
    apiKeyEnv: z.string().optional(),
    timeoutMs: z.number().int().positive().default(60000),
    maxTokens: z.number().int().positive().default(512),
  }).strict(),
]);
export type AnswerConfig = z.infer<typeof AnswerConfigSchema>;

export const RetrievalConfigSchema = z.object({
  /** Measured on faq-en (README): convex 0.65/0.35 beats RRF at every weight and k tried. */
  fusion: z.enum(["rrf", "convex"]).default("convex"),
  /** RRF constant. */
  rrfK: z.number().positive().default(60),
  /** Per-list weights for hybrid fusion (convex normalises them to sum to 1). */
  weights: z
    .object({ lexical: z.number().min(0).default(0.65), dense: z.number().min(0).default(0.35), sparse: z.number().min(0).default(0) })
    .strict()
    .prefault({}),
  /** How many candidates each retriever contributes before fusion. */
  candidates: z.number().int().positive().default(50),
}).strict();
export type RetrievalConfig = z.infer<typeof RetrievalConfigSchema>;

export const SluiceConfigSchema = z
  .object({
    embedder: EmbedderConfigSchema.default({ backend: "use-lite", batchSize: 16 }),
    answer: AnswerConfigSchema.default({ backend: "extractive", sentences: 3 }),
    retrieval: RetrievalConfigSchema.prefault({}),
    ingest: z
      .object({
        /** Documents processed at once per job; the embedder batches across them. */
        concurrency: z.number().int().min(1).max(256).default(16),
        maxDocumentBytes: z.number().int().positive().default(100 * 1024 * 1024),
        /**
         * Directories that paths in HTTP requests may name (env SLUICE_INGEST_ROOTS, colon-separated,
         * wins). Default: the directory the server started in. The CLI is not limited: its user
         * already has their own file system.
         */
        allowedRoots: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .prefault({}),
    spool: z
      .object({
        /** Live documents (waiting or in flight) above which the gate pushes back. */
        maxPending: z.number().int().positive().default(200_000),
        /** Bytes of live envelopes above which the gate pushes back. */
        maxBytes: z.number().int().positive().default(4 * 1024 * 1024 * 1024),
        /** Free disk space the data directory must keep. */
        minFreeBytes: z.number().int().nonnegative().default(256 * 1024 * 1024),
        /** Leases after which a document that never completes goes to the dead-letter lane. */
        maxAttempts: z.number().int().min(1).default(5),
        /** Time from acceptance after which an unfinished document goes to the dead-letter lane. */
        documentDeadlineMs: z.number().int().positive().default(6 * 60 * 60 * 1000),
        leaseMs: z.number().int().min(1000).default(30_000),
      })
      .strict()
      .prefault({}),
    events: z
      .object({
        /** A JSONL file that receives every stage lifecycle CloudEvent (env SLUICE_EVENTS_FILE wins). */
        file: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    server: z.object({ host: z.string().default("127.0.0.1"), port: z.number().int().min(0).max(65535).default(8080) }).strict().prefault({}),
  })
  .strict();
export type SluiceConfig = z.infer<typeof SluiceConfigSchema>;
