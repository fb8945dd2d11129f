/**
 * Tenants inside the engine. The engine stores tenant `t`'s collection `c` as `t~c` and keeps
 * the plain name for the default tenant (the embedded default, the CLI); public collection names
 * and tenant ids cannot contain the separator, so no public name is another tenant's internal one.
 */

/**
 * The tenant of the embedded default (no auth) and of callers that name none. Its collections keep
 * their plain names.
 */
export const DEFAULT_TENANT = "default";

/** Joins a tenant and a collection into the engine's collection name. */
export const TENANT_SEPARATOR = "~";

/**
 * The tenant an internal collection name belongs to: the part before {@link TENANT_SEPARATOR},
 * or "default" for a plain name.
 *
 * @example
 * tenantOf("acme~docs"); // "acme"
 * tenantOf("docs"); // "default"
 */
export function tenantOf(internal: string): string {
  const at = internal.indexOf(TENANT_SEPARATOR);
  return at < 0 ? DEFAULT_TENANT : internal.slice(0, at);
}
