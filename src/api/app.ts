import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance, LogController } from "fastify";
import type { Sluice } from "../engine/sluice.ts";
import { type AuthSettings, resolveAuthSettings } from "./auth/auth-settings.ts";
import { registerAuth, SECURITY_SCHEME } from "./auth/authenticate.ts";
import { type BackgroundWorker, startBackgroundWorker } from "./background-worker.ts";
import { registerErrorHandling } from "./error-handling.ts";
import { registerHttpObservability, requestLogger } from "./http-observability.ts";
import { type RateLimitStore, registerRateLimits } from "./rate-limit/index.ts";
import { collectionRoutes } from "./routes/collections.ts";
import { documentRoutes } from "./routes/documents.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { consoleRoutes } from "./routes/console.ts";
import { eventRoutes } from "./routes/events.ts";
import { registerMetrics } from "./routes/metrics.ts";
import { modelRoutes } from "./routes/models.ts";
import { pipelineRoutes } from "./routes/pipelines.ts";
import { spoolRoutes } from "./routes/spool.ts";
import { openapiRoutes } from "./routes/openapi.ts";
import { queryRoutes } from "./routes/query.ts";

/** Default largest JSON request body: 10 MiB. */
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
/** Default largest file in a multipart upload: 100 MiB. */
export const DEFAULT_UPLOAD_LIMIT = 100 * 1024 * 1024;

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /**
   * Fastify's pino request logs (JSON on stderr, each line with `correlation_id` = the request id
   * or an incoming `x-request-id`, `trace_id`/`span_id`, and `tenant` once authenticated). Left
   * out: on when `logging.level` / SLUICE_LOG_LEVEL lets `info` through (off by default); `true`:
   * on at `info` whatever that level; `false`: off.
   */
  logger?: boolean;
  /** Largest JSON body in bytes; over it → 413 `PAYLOAD_TOO_LARGE`. Default 10 MiB. */
  bodyLimit?: number;
  /** Largest file in a multipart upload in bytes; over it → 413. Default 100 MiB. */
  uploadLimit?: number;
  /**
   * Run ingest jobs in this process: start `sluice.work()` when the app is ready and stop it
   * when the app closes. Off by default — the API itself only records jobs.
   */
  runJobs?: boolean;
  /**
   * Where `api.rateLimits` are counted. Default: Redis when `redis.url` (env SLUICE_REDIS_URL) is
   * set, else this process's memory; a store passed here is the caller's to close.
   */
  rateLimitStore?: RateLimitStore;
  /**
   * Credentials the API accepts (see `auth/authenticate.ts`). Default: read from
   * `sluice.config.auth` and env SLUICE_AUTH_JWT_SECRET / SLUICE_INTERNAL_SECRET; `{}` turns
   * auth off (every request is tenant "default" with every scope).
   */
  auth?: AuthSettings;
  /** Serve the web console at `/` (default true). */
  console?: boolean;
  /** Where the console's built files are (default `dist/console` of this checkout or package). */
  consoleDir?: string;
}

/**
 * Builds the HTTP API over a Sluice facade: `/v1` routes (documents, collections, jobs,
 * query, spool, events, pipelines, models), `/health*`, `/metrics`, `/openapi.json` and the web console at `/`.
 * Every error is answered with `{statusCode, code, error, message}`. Request bodies are validated by the routes' zod
 * schemas; Fastify's own (ajv) validation is switched off and the JSON Schemas given to routes
 * only document them, so there is one validator and one 400 shape. The caller owns `sluice`
 * and closes it after `app.close()`.
 *
 * @example
 * const sluice = await Sluice.open({ dataDir: ".sluice" });
 * const app = await buildApp(sluice, { runJobs: true });
 * await app.listen({ port: 8080 });
 */
export async function buildApp(sluice: Sluice, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const uploadLimit = options.uploadLimit ?? DEFAULT_UPLOAD_LIMIT;
  const loggerInstance = requestLogger(sluice.logger, options.logger);
  const app = Fastify({
    ...(loggerInstance ? { loggerInstance } : { logger: false }),
    logController: new LogController({ requestIdLogLabel: "correlation_id" }),
    requestIdHeader: "x-request-id",
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
  });

  // Route schemas are documentation (OpenAPI); zod in each handler is the validator.
  app.setValidatorCompiler(() => () => true);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  // An empty body sent as application/json (e.g. `POST /v1/jobs/:id/cancel` from a JSON client)
  // is "no body", not an error; anything else goes through Fastify's hardened JSON parser.
  const parseJson = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser("application/json", { parseAs: "string" }, (request, body, done) => {
    const text = typeof body === "string" ? body : body.toString("utf8");
    if (text === "") done(null, undefined);
    // The default parser is synchronous and answers through `done`; nothing to await.
    else void parseJson(request, text, done);
  });

  registerErrorHandling(app);
  // Before auth: a request's span covers its whole life, and every hook's logs carry its trace.
  registerHttpObservability(app, { logs: loggerInstance !== undefined });
  // Before rate limits and routes: every later hook and handler sees an authenticated request.principal.
  registerAuth(
    app,
    options.auth ?? (await resolveAuthSettings({ config: sluice.config.auth, env: process.env, cwd: sluice.cwd })),
  );
  // After auth (its onRequest hook sets the principal whose budget a request draws on), before the routes.
  registerRateLimits(app, sluice.config, options.rateLimitStore);
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Sluice", description: "Document ingestion and hybrid retrieval", version: "1.0.0" },
      components: { securitySchemes: { [SECURITY_SCHEME]: { type: "http", scheme: "bearer", bearerFormat: "JWT" } } },
      tags: [{ name: "documents" }, { name: "collections" }, { name: "jobs" }, { name: "query" }, { name: "health" }],
    },
  });
  await registerMetrics(app, sluice.metrics.registry);
  await app.register(healthRoutes({ sluice }));
  await app.register(openapiRoutes());
  await app.register(documentRoutes({ sluice, uploadLimit }), { prefix: "/v1" });
  await app.register(collectionRoutes({ sluice }), { prefix: "/v1" });
  await app.register(jobRoutes({ sluice }), { prefix: "/v1" });
  await app.register(queryRoutes({ sluice }), { prefix: "/v1" });
  await app.register(spoolRoutes({ sluice }), { prefix: "/v1" });
  await app.register(eventRoutes({ sluice }), { prefix: "/v1" });
  await app.register(pipelineRoutes({ sluice }), { prefix: "/v1" });
  await app.register(modelRoutes({ sluice }), { prefix: "/v1" });
  if (options.console !== false)
    await app.register(consoleRoutes(options.consoleDir ? { dir: options.consoleDir } : {}));

  if (options.runJobs) {
    let worker: BackgroundWorker | undefined;
    app.addHook("onReady", async () => {
      worker = startBackgroundWorker(sluice, app.log);
    });
    app.addHook("onClose", async () => {
      await worker?.stop();
    });
  }
  return app;
}
