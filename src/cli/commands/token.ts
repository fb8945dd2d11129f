import type { Command } from "commander";
import { SluiceError } from "../../contracts/errors.ts";
import { JWT_SECRET_ENV } from "../../api/auth/auth-settings.ts";
import { type Scope, SCOPES } from "../../api/auth/scopes.ts";
import { globals } from "../context.ts";
import { printJson, println } from "../output.ts";

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };
/** Longest lifetime `token create` signs: a year. */
const MAX_TTL_SECONDS = 366 * 86_400;

/**
 * A lifetime like `90s`, `30m`, `1h`, `7d` (or plain seconds) in seconds.
 *
 * @example
 * parseTtl("1h"); // 3600
 */
export function parseTtl(text: string): number {
  const match = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  const seconds = match ? Number(match[1]) * (UNIT_SECONDS[match[2] || "s"] ?? 1) : NaN;
  if (!Number.isSafeInteger(seconds) || seconds <= 0 || seconds > MAX_TTL_SECONDS) {
    throw new SluiceError(
      "VALIDATION_FAILED",
      `--ttl must be a positive duration like 90s, 30m, 1h or 7d (at most 366d), got "${text}"`,
    );
  }
  return seconds;
}

/**
 * Scopes from `query,ingest` (commas or spaces); each must be one of ingest, query, admin.
 *
 * @example
 * parseScopeList("query,ingest"); // ["query", "ingest"]
 */
export function parseScopeList(text: string): Scope[] {
  const values = text.split(/[\s,]+/).filter((v) => v !== "");
  const known = new Set<string>(SCOPES);
  const bad = values.filter((v) => !known.has(v));
  if (values.length === 0 || bad.length > 0) {
    throw new SluiceError(
      "VALIDATION_FAILED",
      `--scopes must list ${SCOPES.join(", ")} (comma-separated)${bad.length ? `; unknown: ${bad.join(", ")}` : ""}`,
    );
  }
  return [...new Set(values as Scope[])];
}

/**
 * Registers `sluice token create --sub U --tenant T --scopes query,ingest [--ttl 1h]`: prints
 * one HS256 token signed with SLUICE_AUTH_JWT_SECRET (or the file `auth.jwtSecretFile`), with
 * `auth.issuer`/`auth.audience` from the config when set, so `sluice serve` with the same
 * secret accepts it. `--json` prints `{"token","expiresAt"}`. Opens no data directory.
 *
 * @example
 * registerToken(program);
 * // SLUICE_AUTH_JWT_SECRET=… sluice token create --sub alice --tenant acme --scopes query --ttl 8h
 */
export function registerToken(program: Command): void {
  const token = program.command("token").description("API bearer tokens");
  token
    .command("create")
    .description(`sign an HS256 API token with ${JWT_SECRET_ENV}`)
    .requiredOption("--sub <subject>", "who the token is for (the sub claim)")
    .requiredOption("--tenant <tenant>", "the tenant whose collections and jobs it reaches")
    .requiredOption("--scopes <list>", `comma-separated: ${SCOPES.join(", ")}`)
    .option("--ttl <duration>", "lifetime: 90s, 30m, 1h, 7d", "1h")
    .action(async (opts: { sub: string; tenant: string; scopes: string; ttl: string }, command: Command) => {
      const g = globals(command);
      const scopes = parseScopeList(opts.scopes);
      const ttlSeconds = parseTtl(opts.ttl);
      const [{ loadConfig }, { resolveAuthSettings }, { signToken }] = await Promise.all([
        import("../../config/load-config.ts"),
        import("../../api/auth/auth-settings.ts"),
        import("../../api/auth/sign-token.ts"),
      ]);
      const config = loadConfig(g.config ? { path: g.config, explicit: true } : {});
      const settings = await resolveAuthSettings({ config: config.auth, env: process.env, cwd: process.cwd() });
      if (settings.jwtSecret === undefined) {
        throw new SluiceError(
          "CONFIG_INVALID",
          `${JWT_SECRET_ENV} is not set (nor auth.jwtSecretFile): set it to the secret \`sluice serve\` verifies tokens with`,
        );
      }
      const signed = await signToken({
        secret: settings.jwtSecret,
        sub: opts.sub,
        tenant: opts.tenant,
        scopes,
        ttlSeconds,
        issuer: settings.issuer,
        audience: settings.audience,
      });
      if (g.json) return printJson({ token: signed.token, expiresAt: signed.expiresAt.toISOString() });
      println(signed.token);
    });
}
