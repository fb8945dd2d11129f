import { z } from "zod";
import { DEFAULT_TENANT } from "../../contracts/tenant.ts";
import { SCOPES, type Scope } from "./scopes.ts";

// In a module of their own (no zod) so that the CLI can list them without loading the validators.
export { SCOPES, type Scope };

/** The tenant of the embedded default (no auth) and of callers that name none; see contracts/tenant.ts. */
export { DEFAULT_TENANT };

/**
 * A tenant id, from a token's `tenant` claim or an internal caller's `x-sluice-tenant` header:
 * the same alphabet as a collection name, so it can prefix one (see `tenant-scope.ts`).
 *
 * @example
 * TenantSchema.parse("acme"); // "acme"
 */
export const TenantSchema = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  );

/**
 * Who is calling: the token's subject, its tenant, and what it may do. Every request carries one
 * as `request.principal` (set by the auth hook before any handler runs).
 *
 * @example
 * const p: Principal = { sub: "alice", tenant: "acme", scopes: ["query"] };
 */
export interface Principal {
  readonly sub: string;
  readonly tenant: string;
  readonly scopes: readonly Scope[];
}

declare module "fastify" {
  interface FastifyRequest {
    /** The authenticated caller; with auth off, {@link EMBEDDED_PRINCIPAL}. */
    principal: Principal;
  }
}

/**
 * Every request when auth is off (the embedded default on loopback): tenant "default", all scopes.
 *
 * @example
 * request.principal = EMBEDDED_PRINCIPAL;
 */
export const EMBEDDED_PRINCIPAL: Principal = Object.freeze({
  sub: "anonymous",
  tenant: DEFAULT_TENANT,
  scopes: Object.freeze([...SCOPES]),
});

/**
 * A caller on a public route (health, OpenAPI) while auth is on: nobody, with no scopes.
 *
 * @example
 * request.principal = PUBLIC_PRINCIPAL;
 */
export const PUBLIC_PRINCIPAL: Principal = Object.freeze({
  sub: "anonymous",
  tenant: DEFAULT_TENANT,
  scopes: Object.freeze([]),
});

/**
 * The scopes a token grants, from OAuth's space-separated `scope` string and/or a `scopes`
 * array; unknown values are dropped, so a token for another service grants nothing here.
 *
 * @example
 * parseScopes({ scope: "query ingest openid" }); // ["query", "ingest"]
 */
export function parseScopes(claims: { scope?: unknown; scopes?: unknown }): Scope[] {
  const values: unknown[] = [];
  if (typeof claims.scope === "string") values.push(...claims.scope.split(/\s+/));
  if (Array.isArray(claims.scopes)) values.push(...(claims.scopes as unknown[]));
  const known = new Set<string>(SCOPES);
  return [...new Set(values.filter((v): v is Scope => typeof v === "string" && known.has(v)))];
}
