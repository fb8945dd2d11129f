import { isIP } from "node:net";
import type { SluiceConfig } from "../../config/schema.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { type AuthSettings, INTERNAL_SECRET_ENV, JWT_SECRET_ENV } from "./auth-settings.ts";

/** Shortest secret accepted in production, in bytes (HS256 wants at least its 256-bit output). */
export const MIN_SECRET_BYTES = 32;

/** Values people leave in place from examples and dev setups; compared lowercased, without punctuation. */
const WEAK_SECRETS = new Set([
  "secret",
  "changeme",
  "changeit",
  "dev",
  "development",
  "test",
  "testing",
  "password",
  "passw0rd",
  "default",
  "example",
  "sample",
  "demo",
  "sluice",
  "admin",
  "letmein",
  "qwerty",
  "insecure",
  "notsecret",
  "supersecret",
  "mysecret",
  "yoursecret",
  "jwtsecret",
  "secretkey",
  "devsecret",
  "testsecret",
  "local",
  "localhost",
  "todo",
  "fixme",
  "replaceme",
  "1234",
  "12345678",
]);

/**
 * Why `secret` is unfit for production, or undefined when it is fine: shorter than 32 bytes, a
 * well-known development value, or one such value (or one character) repeated to make up the
 * length ("changemechangeme…").
 *
 * @example
 * weakSecretReason("changeme"); // "is a well-known development default"
 * weakSecretReason("s3cr3t-but-short"); // "is shorter than 32 bytes (16)"
 * weakSecretReason(randomBytes(48).toString("base64")); // undefined
 */
export function weakSecretReason(secret: string): string | undefined {
  const normalized = secret.toLowerCase().replace(/[^a-z0-9]/g, "");
  if (WEAK_SECRETS.has(normalized)) return "is a well-known development default";
  for (let size = 1; size <= normalized.length / 2; size++) {
    const unit = normalized.slice(0, size);
    if (
      normalized.length % size === 0 &&
      unit.repeat(normalized.length / size) === normalized &&
      (size === 1 || WEAK_SECRETS.has(unit))
    ) {
      return "is a development default repeated to length";
    }
  }
  const bytes = Buffer.byteLength(secret, "utf8");
  if (bytes < MIN_SECRET_BYTES) return `is shorter than ${MIN_SECRET_BYTES} bytes (${bytes})`;
  return undefined;
}

/**
 * Whether `host` binds loopback only: `localhost`, `127.0.0.0/8` or `::1` (and its IPv4-mapped
 * forms). `0.0.0.0`, `::`, any other address or name is reachable from elsewhere.
 *
 * @example
 * isLoopbackHost("127.0.0.1"); // true
 * isLoopbackHost("0.0.0.0"); // false
 */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, "$1");
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.split(".")[0] === "127";
  if (isIP(h) !== 6) return false;
  // The URL parser writes IPv6 in canonical form: "::1", and "::ffff:7fxx:xxxx" for a mapped 127/8.
  const canonical = new URL(`http://[${h}]/`).hostname;
  return canonical === "[::1]" || canonical.startsWith("[::ffff:7f");
}

/**
 * The rules `sluice serve` checks before it binds, so an unprotected API is never reachable by
 * accident: a non-loopback `host`, or `environment: production` (env SLUICE_ENV=production),
 * needs a JWT secret or a JWKS URL; in production every configured secret must be at least 32
 * bytes and not a development default. Throws CONFIG_INVALID with what to do; there is no
 * default secret to fall back on.
 *
 * @example
 * // throws without a secret or JWKS
 * assertServeSecurity({ host: "0.0.0.0", settings, environment: sluice.config.environment });
 */
export function assertServeSecurity(options: {
  host: string;
  settings: AuthSettings;
  environment: SluiceConfig["environment"];
}): void {
  const { host, settings } = options;
  const production = options.environment === "production";
  const userAuth = settings.jwtSecret !== undefined || settings.jwksUrl !== undefined;
  if (!userAuth && (production || !isLoopbackHost(host))) {
    const why = production ? "environment: production" : `${host} is not a loopback address`;
    throw new SluiceError(
      "CONFIG_INVALID",
      `refusing to serve without authentication (${why}): set ${JWT_SECRET_ENV} (at least ${MIN_SECRET_BYTES} random bytes, e.g. \`openssl rand -base64 48\`), auth.jwtSecretFile or auth.jwksUrl in sluice.yaml${production ? "" : ", or bind 127.0.0.1"}`,
      { details: { host, production } },
    );
  }
  if (!production) return;
  const secrets: Array<[string, string | undefined]> = [
    [`the JWT secret (${JWT_SECRET_ENV} or auth.jwtSecretFile)`, settings.jwtSecret],
    [`the internal secret (${INTERNAL_SECRET_ENV} or auth.internalSecretFile)`, settings.internalSecret],
  ];
  for (const [name, secret] of secrets) {
    const reason = secret === undefined ? undefined : weakSecretReason(secret);
    if (reason)
      throw new SluiceError(
        "CONFIG_INVALID",
        `refusing to start in production (environment: production): ${name} ${reason}; use at least ${MIN_SECRET_BYTES} random bytes, e.g. \`openssl rand -base64 48\``,
        { details: { production } },
      );
  }
}
