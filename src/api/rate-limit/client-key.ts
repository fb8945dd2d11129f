import type { FastifyRequest } from "fastify";

/** The subject of the principal requests carry when auth is off (and of public routes). */
const ANONYMOUS = "anonymous";

/**
 * The part of an authenticated principal a rate limit needs.
 *
 * @example
 * const who: PrincipalIdentity = { sub: "alice", tenant: "acme" };
 */
export interface PrincipalIdentity {
  sub: string;
  tenant?: string;
}

/**
 * The authenticated principal on a request, if any, read defensively: the auth layer decorates
 * `request.principal` (`{ sub, tenant, scopes }`), and this module must work with it absent, null
 * or shaped otherwise, so it never depends on that layer's types. The anonymous principal of
 * auth-off requests is no principal here.
 *
 * @example
 * principalOf(request); // { sub: "user-42", tenant: "acme" } or undefined
 */
export function principalOf(request: FastifyRequest): PrincipalIdentity | undefined {
  const principal: unknown = (request as { principal?: unknown }).principal;
  if (typeof principal !== "object" || principal === null) return undefined;
  const { sub, tenant } = principal as { sub?: unknown; tenant?: unknown };
  // With auth off every request carries the shared embedded principal ("anonymous"): it names
  // nobody, so it must not put every client in one budget.
  if (typeof sub !== "string" || sub === "" || sub === ANONYMOUS) return undefined;
  return typeof tenant === "string" && tenant !== "" ? { sub, tenant } : { sub };
}

/**
 * Who a request counts against: the principal's subject (qualified by its tenant, so equal
 * subjects of two tenants never share a budget), else the client IP. Parts are URI-encoded so
 * no subject can forge another's key.
 *
 * @example
 * clientKey(request); // "sub:acme/user-42", or "ip:127.0.0.1" before auth is configured
 */
export function clientKey(request: FastifyRequest): string {
  const principal = principalOf(request);
  if (!principal) return `ip:${request.ip}`;
  const tenant = principal.tenant !== undefined ? `${encodeURIComponent(principal.tenant)}/` : "";
  return `sub:${tenant}${encodeURIComponent(principal.sub)}`;
}
