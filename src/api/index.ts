/**
 * The HTTP API: `buildApp(sluice)` returns a Fastify instance serving `/v1`, health probes,
 * `/metrics` and `/openapi.json`.
 *
 * @example
 * import { buildApp } from "sluice/api";
 * const app = await buildApp(sluice, { runJobs: true });
 * await app.listen({ port: 8080 });
 */
export { buildApp, DEFAULT_BODY_LIMIT, DEFAULT_UPLOAD_LIMIT, type BuildAppOptions } from "./app.ts";
export { toErrorBody } from "./error-body.ts";
export type { AuthSettings } from "./auth/auth-settings.ts";
export type { Principal, Scope } from "./auth/principal.ts";
export type { ErrorBody } from "./schemas.ts";
export {
  MemoryRateLimitStore,
  RedisRateLimitStore,
  type RateLimitDecision,
  type RateLimitStore,
} from "./rate-limit/index.ts";
