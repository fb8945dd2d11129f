import { SluiceError } from "../contracts/errors.ts";
import { LOG_LEVELS } from "./schema.ts";

/**
 * How one variable's text becomes a config value: as is, one of a fixed set (case-insensitive),
 * a colon-separated list, a boolean (`true`/`false`, negated when `negate`), a URL (with a
 * suffix appended, for the OTLP base endpoint), or a whole number of at least `min` (or one of
 * the `words` that stand for one, such as `auto`).
 *
 * @example
 * const parser: EnvParser = { kind: "enum", values: ["in-process", "remote"] };
 */
export type EnvParser =
  | { kind: "string" }
  | { kind: "enum"; values: readonly string[] }
  | { kind: "list" }
  | { kind: "boolean"; negate?: boolean }
  | { kind: "url"; append?: string }
  | { kind: "integer"; min: number; words?: readonly string[] };

/**
 * One environment override: the variable, the config leaf it sets, how its text is parsed, and
 * what it is for.
 *
 * @example
 * const row: EnvOverride = {
 *   variable: "SLUICE_REDIS_URL",
 *   path: ["redis", "url"],
 *   parser: { kind: "string" },
 *   doc: "shared Redis",
 * };
 */
export interface EnvOverride {
  variable: string;
  path: readonly string[];
  parser: EnvParser;
  doc: string;
}

/**
 * Every non-secret environment override, in the order `loadConfig` applies them (a later row
 * wins over an earlier one for the same leaf). Secrets are not here: the config only names where
 * a secret lives, and the code that uses a secret reads it (see docs/configuration.md).
 *
 * @example
 * ENV_OVERRIDES.find((o) => o.variable === "SLUICE_LOG_LEVEL")?.path; // ["logging", "level"]
 */
export const ENV_OVERRIDES: readonly EnvOverride[] = [
  {
    variable: "SLUICE_ENV",
    path: ["environment"],
    parser: { kind: "enum", values: ["development", "production"] },
    doc: "`production` makes `sluice serve` insist on authentication and strong secrets",
  },
  {
    variable: "SLUICE_DATABASE_URL",
    path: ["postgres", "url"],
    parser: { kind: "string" },
    doc: "PostgreSQL server (`database: postgres`); keep its password here, not in the file",
  },
  {
    variable: "SLUICE_REDIS_URL",
    path: ["redis", "url"],
    parser: { kind: "string" },
    doc: "shared Redis (rate limits, collection locks, the BullMQ queue); keep its password here",
  },
  {
    variable: "SLUICE_MODELS",
    path: ["models", "mode"],
    parser: { kind: "enum", values: ["in-process", "remote"] },
    doc: "`remote` sends every model call to `sluice model-server`",
  },
  {
    variable: "SLUICE_MODEL_SERVER",
    path: ["models", "remote", "address"],
    parser: { kind: "string" },
    doc: "host:port of the model server that `remote` calls",
  },
  {
    variable: "SLUICE_MODEL_THREADS",
    path: ["models", "threads"],
    parser: { kind: "integer", min: 0, words: ["auto"] },
    doc: "worker threads for an in-process `static` or `use-lite` embedder; `0`: on the event loop",
  },
  {
    variable: "SLUICE_MODEL_SERVER_LISTEN",
    path: ["modelServer", "listen"],
    parser: { kind: "string" },
    doc: "host:port `sluice model-server` binds (its `--listen` wins)",
  },
  {
    variable: "SLUICE_INGEST_ROOTS",
    path: ["ingest", "allowedRoots"],
    parser: { kind: "list" },
    doc: "colon-separated directories that paths in HTTP requests may name",
  },
  {
    variable: "SLUICE_INDEX_WRITE_THREAD",
    path: ["ingest", "writeThread"],
    parser: { kind: "boolean" },
    doc: "`true` writes the embedded index on a worker thread (lower HTTP latency under ingest, less throughput)",
  },
  {
    variable: "SLUICE_LOG_LEVEL",
    path: ["logging", "level"],
    parser: { kind: "enum", values: LOG_LEVELS },
    doc: `JSON log level on stderr: ${LOG_LEVELS.join(", ")}`,
  },
  {
    variable: "SLUICE_EVENTS_FILE",
    path: ["events", "file"],
    parser: { kind: "string" },
    doc: "JSONL file that receives every lifecycle CloudEvent",
  },
  {
    variable: "OTEL_SERVICE_NAME",
    path: ["tracing", "serviceName"],
    parser: { kind: "string" },
    doc: "`service.name` of the spans",
  },
  // Base first, full URL second: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT wins, as the OTLP exporter spec says.
  {
    variable: "OTEL_EXPORTER_OTLP_ENDPOINT",
    path: ["tracing", "tracesUrl"],
    parser: { kind: "url", append: "/v1/traces" },
    doc: "OTLP/HTTP base URL; `/v1/traces` is appended",
  },
  {
    variable: "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    path: ["tracing", "tracesUrl"],
    parser: { kind: "url" },
    doc: "OTLP/HTTP traces URL, used as is",
  },
  {
    variable: "OTEL_SDK_DISABLED",
    path: ["tracing", "enabled"],
    parser: { kind: "boolean", negate: true },
    doc: "`true` keeps tracing off even with an endpoint set",
  },
];

/**
 * The value `text` gives under `parser`, or undefined for an empty value or list (an empty
 * variable counts as unset).
 *
 * @throws SluiceError `CONFIG_INVALID` naming the variable when the text does not parse
 *
 * @example
 * parseEnvValue(
 *   { variable: "SLUICE_INGEST_ROOTS", path: ["ingest", "allowedRoots"], parser: { kind: "list" }, doc: "" },
 *   "/a:/b",
 * ); // ["/a", "/b"]
 */
export function parseEnvValue(override: EnvOverride, text: string): unknown {
  const { variable, parser } = override;
  const bad = (why: string) =>
    new SluiceError("CONFIG_INVALID", `env ${variable}: "${text}" ${why}`, { details: { variable, value: text } });
  if (text.trim() === "") return undefined;
  switch (parser.kind) {
    case "string":
      return text;
    case "enum": {
      const value = parser.values.find((v) => v === text.trim().toLowerCase());
      if (value === undefined) throw bad(`is not one of ${parser.values.join(", ")}`);
      return value;
    }
    case "list": {
      const items = text.split(":").filter((r) => r.trim() !== "");
      return items.length > 0 ? items : undefined;
    }
    case "boolean": {
      const lower = text.trim().toLowerCase();
      if (lower !== "true" && lower !== "false") throw bad("is not true or false");
      return (lower === "true") !== (parser.negate ?? false);
    }
    case "integer": {
      const word = parser.words?.find((w) => w === text.trim().toLowerCase());
      if (word !== undefined) return word;
      const value = Number(text.trim());
      if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < parser.min)
        throw bad(
          `is not a whole number of at least ${parser.min}${parser.words ? ` or ${parser.words.join(", ")}` : ""}`,
        );
      return value;
    }
    case "url": {
      if (!URL.canParse(text) || !/^https?:$/.test(new URL(text).protocol)) throw bad("is not an http(s) URL");
      return parser.append ? `${text.replace(/\/+$/, "")}${parser.append}` : text;
    }
  }
}

/**
 * Writes every override set in `env` into `raw` (the file's plain object, changed in place) and
 * returns which variable set which leaf (dotted path → variable). Parents missing from the file
 * are created; a parent the file gave as something other than an object is left for the schema
 * to report.
 *
 * @throws SluiceError `CONFIG_INVALID` naming the variable when a value does not parse
 *
 * @example
 * const raw: Record<string, unknown> = {};
 * applyEnvOverrides(raw, { SLUICE_MODELS: "remote" }); // Map { "models.mode" => "SLUICE_MODELS" }
 * // raw.models.mode === "remote"
 */
export function applyEnvOverrides(raw: Record<string, unknown>, env: NodeJS.ProcessEnv): Map<string, string> {
  const applied = new Map<string, string>();
  for (const override of ENV_OVERRIDES) {
    const text = env[override.variable];
    if (text === undefined) continue;
    const value = parseEnvValue(override, text);
    if (value === undefined) continue;
    let node: Record<string, unknown> = raw;
    const parents = override.path.slice(0, -1);
    let reachable = true;
    for (const key of parents) {
      node[key] ??= {};
      const next = node[key];
      if (typeof next !== "object" || next === null || Array.isArray(next)) {
        reachable = false;
        break;
      }
      node = next as Record<string, unknown>;
    }
    if (!reachable) continue;
    node[override.path[override.path.length - 1]!] = value;
    applied.set(override.path.join("."), override.variable);
  }
  return applied;
}
