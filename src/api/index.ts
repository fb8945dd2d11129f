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
export type { ErrorBody } from "./schemas.ts";
