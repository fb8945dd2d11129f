import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseDocument } from "yaml";
import { SluiceError } from "../contracts/errors.ts";
import { applyEnvOverrides } from "./env-overrides.ts";
import { SluiceConfigSchema, type SluiceConfig } from "./schema.ts";

/**
 * Where `loadConfig` reads from.
 *
 * @example
 * const options: LoadConfigOptions = { path: "deploy/sluice.yaml", explicit: true, env: { SLUICE_LOG_LEVEL: "info" } };
 */
export interface LoadConfigOptions {
  /** The YAML file (default `sluice.yaml` in the working directory). */
  path?: string;
  /** The user named the file: a missing one is an error rather than defaults. */
  explicit?: boolean;
  /** Where the environment overrides come from (default `process.env`). */
  env?: NodeJS.ProcessEnv;
}

/**
 * Where one leaf of the effective config came from: the schema's default, the YAML file, or an
 * environment variable (`env:SLUICE_DATABASE_URL`).
 *
 * @example
 * const source: ConfigSource = "env:SLUICE_LOG_LEVEL";
 */
export type ConfigSource = "default" | "file" | `env:${string}`;

/**
 * The effective config and, for each leaf path (`postgres.url`, `spool.leaseMs`, …, in schema
 * order), where its value came from.
 *
 * @example
 * const { config, sources } = loadConfigWithSources();
 * sources["logging.level"]; // "default" | "file" | "env:SLUICE_LOG_LEVEL"
 */
export interface ConfigWithSources {
  config: SluiceConfig;
  sources: Record<string, ConfigSource>;
}

/**
 * Reads `sluice.yaml` (or the file named), applies the environment overrides once
 * (src/config/env-overrides.ts: env beats the file, the file beats defaults), validates and
 * fills defaults. A missing default file means defaults; a missing file the user named, bad
 * YAML, a bad field or a bad environment value is CONFIG_INVALID naming the file, the field or
 * the variable.
 *
 * @example
 * const config = loadConfig({ path: "sluice.yaml", explicit: false });
 */
export function loadConfig(options: LoadConfigOptions = {}): SluiceConfig {
  return loadConfigWithSources(options).config;
}

/**
 * {@link loadConfig}, also telling where each leaf came from (what `sluice config show` prints).
 *
 * @example
 * const { config, sources } = loadConfigWithSources({ env: { SLUICE_DATABASE_URL: "postgres://db/sluice" } });
 * sources["postgres.url"]; // "env:SLUICE_DATABASE_URL"
 */
export function loadConfigWithSources(options: LoadConfigOptions = {}): ConfigWithSources {
  const path = resolve(options.path ?? "sluice.yaml");
  let file: unknown = {};
  if (existsSync(path)) {
    const doc = parseDocument(readFileSync(path, "utf8"));
    if (doc.errors.length > 0)
      throw new SluiceError("CONFIG_INVALID", `${path}: invalid YAML: ${doc.errors[0]!.message}`, {
        details: { path },
      });
    file = doc.toJS() ?? {};
  } else if (options.explicit) {
    throw new SluiceError("CONFIG_INVALID", `config file not found: ${path}`, { details: { path } });
  }
  // A file that is not a mapping is the schema's to report; env has nowhere to go in it.
  const mapping = typeof file === "object" && file !== null && !Array.isArray(file);
  const raw = mapping ? (structuredClone(file) as Record<string, unknown>) : file;
  const fromEnv = mapping
    ? applyEnvOverrides(raw as Record<string, unknown>, options.env ?? process.env)
    : new Map<string, string>();
  const config = checkConfig(raw, path, fromEnv);
  const sources: Record<string, ConfigSource> = {};
  for (const leaf of leafPaths(config)) {
    const key = leaf.join(".");
    const variable = fromEnv.get(key);
    sources[key] = variable ? `env:${variable}` : valueAt(file, leaf) !== undefined ? "file" : "default";
  }
  return { config, sources };
}

/**
 * Validates a plain config object and fills defaults, with no file and no environment (tests,
 * benchmarks, embedding Sluice in a program).
 *
 * @example
 * const config = parseConfig({ embedder: { backend: "hash" } });
 */
export function parseConfig(raw: unknown, source = "config"): SluiceConfig {
  return checkConfig(raw, source, new Map());
}

function checkConfig(raw: unknown, source: string, fromEnv: ReadonlyMap<string, string>): SluiceConfig {
  const parsed = SluiceConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => {
      if (i.path.length === 0) return `config: ${i.message}`;
      const field = i.path.join(".");
      const variable = [...fromEnv].find(([leaf]) => field === leaf || field.startsWith(`${leaf}.`))?.[1];
      return variable ? `env ${variable} (field "${field}"): ${i.message}` : `field "${field}": ${i.message}`;
    });
    throw new SluiceError("CONFIG_INVALID", `${source}: ${reasons.join("; ")}`, {
      details: { source, issues: reasons },
    });
  }
  return parsed.data;
}

/**
 * Paths of the leaves of a parsed config: scalars, arrays and empty objects, in key (schema)
 * order; unset optional fields are not leaves.
 *
 * @example
 * leafPaths({ spool: { leaseMs: 30000 }, ingest: { allowedRoots: ["."] } });
 * // [["spool", "leaseMs"], ["ingest", "allowedRoots"]]
 */
export function leafPaths(value: unknown, prefix: string[] = []): string[][] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return [prefix];
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return [prefix];
  return entries.flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  let node = root;
  for (const key of path) {
    if (typeof node !== "object" || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
