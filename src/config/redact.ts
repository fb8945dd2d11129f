/** Keys whose values are secrets. */
const SECRET_KEY = /secret|password|passwd|token|api[-_]?key|credential/i;
/** Keys that only say where a secret lives (`apiKeyEnv`, `jwtSecretFile`): shown as they are. */
const NAMES_A_PLACE = /(Env|File)$/;
/** Query parameters that carry secrets (`?password=` in a PostgreSQL URL). */
const SECRET_PARAM = /([?&][^=&#]*(?:password|secret|token|api[-_]?key)[^=&#]*=)[^&#]*/gi;

export const REDACTED = "***";

/**
 * `text` with the password of a URL's user info, and the values of secret-looking query
 * parameters, replaced by `***`; any other text unchanged.
 *
 * @example
 * redactUrl("postgres://sluice:hunter2@db:5432/sluice"); // "postgres://sluice:***@db:5432/sluice"
 * redactUrl("redis://:hunter2@redis:6379"); // "redis://:***@redis:6379"
 */
export function redactUrl(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text);
  if (!scheme) return text;
  const start = scheme[0].length;
  const rest = text.slice(start);
  const authorityEnd = rest.search(/[/?#]/);
  const authority = authorityEnd < 0 ? rest : rest.slice(0, authorityEnd);
  const at = authority.lastIndexOf("@");
  let out = text;
  if (at >= 0) {
    const colon = authority.slice(0, at).indexOf(":");
    if (colon >= 0) out = `${text.slice(0, start + colon + 1)}${REDACTED}${text.slice(start + at)}`;
  }
  return out.replace(SECRET_PARAM, `$1${REDACTED}`);
}

/**
 * A copy of a config (or any plain value) fit to print: values at secret-looking keys (secret,
 * password, token, apiKey; not `…Env`/`…File`, which only name where a secret lives) become
 * `***`, and every string has its URL password redacted.
 *
 * @example
 * redactConfig({ postgres: { url: "postgres://u:pw@db/s" }, x: { apiKey: "k" } }); // { postgres: { url: "postgres://u:***@db/s" }, x: { apiKey: "***" } }
 */
export function redactConfig<T>(value: T): T {
  return redact(value, undefined) as T;
}

function redact(value: unknown, key: string | undefined): unknown {
  if (value === undefined) return value;
  if (key !== undefined && SECRET_KEY.test(key) && !NAMES_A_PLACE.test(key)) return REDACTED;
  if (typeof value === "string") return redactUrl(value);
  if (Array.isArray(value)) return value.map((v) => redact(v, undefined));
  if (typeof value === "object" && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}
