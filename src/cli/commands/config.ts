import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { INTERNAL_SECRET_ENV, JWT_SECRET_ENV } from "../../api/auth/auth-settings.ts";
import type { ConfigSource } from "../../config/load-config.ts";
import type { SluiceConfig } from "../../config/schema.ts";
import { globals } from "../context.ts";
import { printJson, println } from "../output.ts";

/**
 * Whether one secret the config relies on is there, and where it is looked for; never its value.
 *
 * @example
 * const s: SecretStatus = { set: false, env: "SLUICE_AUTH_JWT_SECRET" };
 */
export interface SecretStatus {
  set: boolean;
  env?: string;
  file?: string;
}

/**
 * The secrets the config knows of, by what they are for: the API's JWT and internal secrets (env,
 * else the file the config names), the API keys of OpenAI-compatible backends and lineage
 * (`apiKeyEnv`), and the headers of the CloudEvents HTTP sink. Secrets stay out of the config
 * object and are read where they are used; this only says whether each is set.
 *
 * @example
 * knownSecrets(config, process.env, process.cwd())["auth.jwtSecret"]; // { set: true, env: "SLUICE_AUTH_JWT_SECRET" }
 */
export function knownSecrets(config: SluiceConfig, env: NodeJS.ProcessEnv, cwd: string): Record<string, SecretStatus> {
  const inEnv = (name: string): SecretStatus => ({ set: (env[name] ?? "") !== "", env: name });
  const envOrFile = (name: string, file: string | undefined): SecretStatus => {
    if (inEnv(name).set || file === undefined) return inEnv(name);
    const path = resolve(cwd, file);
    let set = false;
    try {
      set = readFileSync(path, "utf8").trim() !== "";
    } catch {
      set = false;
    }
    return { set, file: path };
  };
  const secrets: Record<string, SecretStatus> = {
    "auth.jwtSecret": envOrFile(JWT_SECRET_ENV, config.auth.jwtSecretFile),
    "auth.internalSecret": envOrFile(INTERNAL_SECRET_ENV, config.auth.internalSecretFile),
  };
  if (config.embedder.backend === "openai" && config.embedder.apiKeyEnv)
    secrets["embedder.apiKey"] = inEnv(config.embedder.apiKeyEnv);
  if (config.answer.backend === "openai" && config.answer.apiKeyEnv)
    secrets["answer.apiKey"] = inEnv(config.answer.apiKeyEnv);
  if (config.lineage.apiKeyEnv) secrets["lineage.apiKey"] = inEnv(config.lineage.apiKeyEnv);
  if (config.sources.openalex.apiKeyEnv) secrets["sources.openalex.apiKey"] = inEnv(config.sources.openalex.apiKeyEnv);
  if (config.sources.pmc.apiKeyEnv) secrets["sources.pmc.apiKey"] = inEnv(config.sources.pmc.apiKeyEnv);
  for (const [header, name] of Object.entries(config.events.http?.headers ?? {}))
    secrets[`events.http.headers.${header}`] = inEnv(name);
  return secrets;
}

function describeSource(source: ConfigSource | undefined): string {
  return source?.startsWith("env:") ? `env ${source.slice(4)}` : (source ?? "default");
}

function show(value: unknown): string {
  return typeof value === "string" && value !== "" ? value : JSON.stringify(value);
}

function valueAt(root: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((node, key) => (node as Record<string, unknown>)[key], root);
}

/**
 * `sluice config show`: the effective configuration (file, then env overrides, then defaults)
 * with where each value came from, one `path = value  (source)` line per leaf in schema order,
 * secrets redacted, then whether each secret it knows of is set. `--json` prints
 * `{"config","sources","secrets"}`. Opens no data directory.
 *
 * @example
 * registerConfig(program); // SLUICE_LOG_LEVEL=info sluice config show
 */
export function registerConfig(program: Command): void {
  const group = program.command("config").description("the configuration in force");
  group
    .command("show")
    .description(
      "print the effective configuration and where each value came from (default, file, env); secrets redacted",
    )
    .action(async (_opts: unknown, command: Command) => {
      const g = globals(command);
      const [{ leafPaths, loadConfigWithSources }, { redactConfig }] = await Promise.all([
        import("../../config/load-config.ts"),
        import("../../config/redact.ts"),
      ]);
      const loaded = loadConfigWithSources(g.config ? { path: g.config, explicit: true } : {});
      const redacted = redactConfig(loaded.config);
      const secrets = knownSecrets(loaded.config, process.env, process.cwd());
      if (g.json) return printJson({ config: redacted, sources: loaded.sources, secrets });
      for (const path of leafPaths(redacted)) {
        const key = path.join(".");
        println(`${key} = ${show(valueAt(redacted, path))}  (${describeSource(loaded.sources[key])})`);
      }
      println();
      println("secrets (values never shown):");
      for (const [name, s] of Object.entries(secrets))
        println(`${name} = ${s.set ? "set" : "not set"}  (${s.env ? `env ${s.env}` : `file ${s.file}`})`);
    });
}
