import { z } from "zod";

/** The name of an environment variable: the only way a secret reaches a sink's request. */
const EnvVarName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*$/,
    "must be the name of an environment variable (the secret stays in the environment, never in the config)",
  );

/** An HTTP header name (RFC 9110 token). */
const HeaderName = z.string().regex(/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/, "must be an HTTP header name");

/**
 * Where stage and job lifecycle CloudEvents go, besides in-process subscribers.
 *
 * @example
 * EventsConfigSchema.parse({ http: { url: "https://events.example/in", headers: { authorization: "SLUICE_EVENTS_AUTH" } } });
 */
export const EventsConfigSchema = z
  .object({
    /**
     * A JSONL file that receives every lifecycle CloudEvent, one structured-mode event per line
     * (env SLUICE_EVENTS_FILE).
     */
    file: z.string().min(1).optional(),
    /**
     * POST every event to an HTTP endpoint (CloudEvents HTTP binding), one request per event.
     * Delivery is in the background from a bounded queue: failures are counted and logged, and
     * when the endpoint falls behind by `maxQueue` events the oldest waiting ones are dropped.
     */
    http: z
      .object({
        url: z.string().url(),
        /**
         * `binary`: attributes in `ce-*` headers, data as the body; `structured`: one
         * `application/cloudevents+json` body.
         */
        mode: z.enum(["binary", "structured"]).default("binary"),
        /**
         * Header name → the environment variable that holds its value, e.g.
         * `{ authorization: SLUICE_EVENTS_AUTH }`.
         */
        headers: z.record(HeaderName, EnvVarName).default({}),
        timeoutMs: z.number().int().positive().default(5_000),
        /** Events waiting at most (memory bound); past it the oldest is dropped and counted. */
        maxQueue: z.number().int().min(1).default(10_000),
      })
      .strict()
      .optional(),
  })
  .strict()
  .prefault({});
export type EventsConfig = z.infer<typeof EventsConfigSchema>;

/**
 * OpenLineage run events for ingest jobs and their stages, posted to a collector (Marquez,
 * DataHub, …) with the OpenLineage HTTP transport. Off unless `url` is set.
 *
 * @example
 * LineageConfigSchema.parse({ url: "http://marquez:5000", apiKeyEnv: "OPENLINEAGE_API_KEY" });
 */
export const LineageConfigSchema = z
  .object({
    /** Collector base URL; events go to `url` + `endpoint`. */
    url: z.string().url().optional(),
    endpoint: z.string().min(1).default("/api/v1/lineage"),
    /** Environment variable holding the API key, sent as `Authorization: Bearer <key>`. */
    apiKeyEnv: EnvVarName.optional(),
    /** Namespace of the jobs (`ingest.<collection>` and its stages). */
    namespace: z.string().min(1).default("sluice"),
    /** Namespace of the output datasets (collections). Default `sluice://<host><data dir>`. */
    datasetNamespace: z.string().min(1).optional(),
    /** `job`: stage runs aggregated over each job (default); `document`: a run per stage of every document (large). */
    granularity: z.enum(["job", "document"]).default("job"),
    /** The `producer` URI of every event and facet. */
    producer: z.string().url().default("https://sluice.dev/sluice/0.1.0"),
    timeoutMs: z.number().int().positive().default(5_000),
    maxQueue: z.number().int().min(1).default(10_000),
  })
  .strict()
  .prefault({});
export type LineageConfig = z.infer<typeof LineageConfigSchema>;
