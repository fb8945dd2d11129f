import type { Scope } from "./principal.ts";

/** What a route asks of its caller: nothing (public), or any one of some scopes. */
export type RoutePolicy = { readonly public: true } | { readonly public: false; readonly anyOf: readonly Scope[] };

const PUBLIC: RoutePolicy = { public: true };
const needs = (...anyOf: Scope[]): RoutePolicy => ({ public: false, anyOf });
/** A route missing from the table needs `admin`: a new route is closed until someone opens it here. */
const UNLISTED: RoutePolicy = needs("admin");

/** `METHOD /route/template` → policy. HEAD routes Fastify adds for GETs share the GET entry. */
const POLICIES: ReadonlyMap<string, RoutePolicy> = new Map([
  ["GET /health", PUBLIC],
  ["GET /health/live", PUBLIC],
  ["GET /health/ready", PUBLIC],
  ["GET /openapi.json", PUBLIC],
  // The console's static files hold no data; every call they make goes to /v1 with the user's token.
  ["GET /", PUBLIC],
  ["GET /assets/*", PUBLIC],
  // Metrics carry no tenant data, but route and process details are the operator's business.
  ["GET /metrics", needs("admin")],
  // Model servers, devices and queues are the operator's business, as metrics are.
  ["GET /v1/models", needs("admin")],
  ["POST /v1/collections/:c/documents", needs("ingest")],
  ["DELETE /v1/collections/:c/documents/:id", needs("ingest")],
  ["GET /v1/collections/:c", needs("query")],
  ["GET /v1/collections", needs("query")],
  ["GET /v1/collections/:c/documents", needs("query")],
  ["GET /v1/collections/:c/documents/:id/chunks", needs("query")],
  ["POST /v1/jobs", needs("ingest")],
  ["GET /v1/jobs", needs("ingest", "query")],
  ["GET /v1/events", needs("ingest", "query")],
  ["GET /v1/pipelines", needs("ingest", "query")],
  ["POST /v1/pipelines/validate", needs("ingest")],
  ["GET /v1/jobs/:id", needs("ingest", "query")],
  ["GET /v1/jobs/:id/stages", needs("ingest", "query")],
  ["GET /v1/jobs/:id/pipeline", needs("ingest", "query")],
  ["POST /v1/jobs/:id/cancel", needs("ingest")],
  ["POST /v1/jobs/:id/resume", needs("ingest")],
  ["POST /v1/query", needs("query")],
]);

/**
 * The scopes a route needs when auth is on. Health probes and `/openapi.json` are public;
 * writes need `ingest`, reads `query` (a job either), `/v1/spool*` and `/metrics` need `admin`,
 * and any route not listed needs `admin` (fail closed). `url` is the route template
 * (`request.routeOptions.url`), so path parameters cannot dodge a rule.
 *
 * @example
 * routePolicy("GET", "/v1/jobs/:id"); // { public: false, anyOf: ["ingest", "query"] }
 */
export function routePolicy(method: string, url: string): RoutePolicy {
  const m = method === "HEAD" ? "GET" : method;
  if (url === "/v1/spool" || url.startsWith("/v1/spool/")) return needs("admin");
  return POLICIES.get(`${m} ${url}`) ?? UNLISTED;
}

/**
 * Every route the table names, for tests that check it against the app's routes.
 *
 * @example
 * for (const key of listedRoutes()) console.log(key); // "GET /health", …
 */
export function listedRoutes(): string[] {
  return [...POLICIES.keys()];
}
