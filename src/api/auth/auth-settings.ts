import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import type { SluiceConfig } from "../../config/schema.ts";
import { SluiceError } from "../../contracts/errors.ts";

/** Environment variable holding the HS256 secret that user tokens are signed with. */
export const JWT_SECRET_ENV = "SLUICE_AUTH_JWT_SECRET";
/** Environment variable holding the secret Sluice processes present to each other (`x-sluice-internal`). */
export const INTERNAL_SECRET_ENV = "SLUICE_INTERNAL_SECRET";

/**
 * What the API authenticates with, resolved from config and environment: secrets are values
 * here (read from their files), never defaults — nothing configured means auth is off.
 *
 * @example
 * const settings: AuthSettings = { jwtSecret: process.env.SLUICE_AUTH_JWT_SECRET, issuer: "https://id.example" };
 */
export interface AuthSettings {
  /** HS256 secret for user tokens. */
  jwtSecret?: string | undefined;
  /** JWKS URL for RS256/ES256 user tokens. */
  jwksUrl?: string | undefined;
  /** Required `iss` claim, when set. */
  issuer?: string | undefined;
  /** Required `aud` claim, when set. */
  audience?: string | undefined;
  /** Secret of the `x-sluice-internal` service credential. */
  internalSecret?: string | undefined;
}

/**
 * Auth is on as soon as any credential is configured: a JWT secret, a JWKS URL or an internal
 * secret. Off, every request is tenant "default" with every scope (the embedded default).
 *
 * @example
 * authEnabled({}); // false
 * authEnabled({ jwksUrl: "https://id.example/.well-known/jwks.json" }); // true
 */
export function authEnabled(settings: AuthSettings): boolean {
  return settings.jwtSecret !== undefined || settings.jwksUrl !== undefined || settings.internalSecret !== undefined;
}

async function secretFrom(
  env: string | undefined,
  envName: string,
  file: string | undefined,
  field: string,
  cwd: string,
): Promise<string | undefined> {
  if (env !== undefined && env !== "") return env;
  if (file === undefined) return undefined;
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new SluiceError(
      "CONFIG_INVALID",
      `${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? "error"}); set ${envName} or fix the path`,
      { details: { path }, cause: err },
    );
  }
  // Files written with `echo` or an editor end in a newline that is not part of the secret.
  const secret = text.trim();
  if (secret === "") throw new SluiceError("CONFIG_INVALID", `${field}: ${path} is empty`, { details: { path } });
  return secret;
}

/**
 * Reads the auth settings: the JWT secret from env `SLUICE_AUTH_JWT_SECRET` (else the file
 * `auth.jwtSecretFile`), the internal secret from env `SLUICE_INTERNAL_SECRET` (else
 * `auth.internalSecretFile`), and `jwksUrl`, `issuer`, `audience` from config. Relative file
 * paths resolve against `cwd`. A named file that cannot be read is CONFIG_INVALID.
 *
 * @example
 * const settings = await resolveAuthSettings({ config: sluice.config.auth, env: process.env, cwd: sluice.cwd });
 */
export async function resolveAuthSettings(options: {
  config: SluiceConfig["auth"];
  env: NodeJS.ProcessEnv;
  cwd: string;
}): Promise<AuthSettings> {
  const { config, env, cwd } = options;
  return {
    jwtSecret: await secretFrom(env[JWT_SECRET_ENV], JWT_SECRET_ENV, config.jwtSecretFile, "auth.jwtSecretFile", cwd),
    internalSecret: await secretFrom(
      env[INTERNAL_SECRET_ENV],
      INTERNAL_SECRET_ENV,
      config.internalSecretFile,
      "auth.internalSecretFile",
      cwd,
    ),
    jwksUrl: config.jwksUrl,
    issuer: config.issuer,
    audience: config.audience,
  };
}
