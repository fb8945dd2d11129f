import swagger from "@fastify/swagger";
import Fastify, { type FastifyInstance } from "fastify";
import type { Sluice } from "../engine/sluice.ts";
import { type BackgroundWorker, startBackgroundWorker } from "./background-worker.ts";
import { registerErrorHandling } from "./error-handling.ts";
import { collectionRoutes } from "./routes/collections.ts";
import { documentRoutes } from "./routes/documents.ts";
import { healthRoutes } from "./routes/health.ts";
import { jobRoutes } from "./routes/jobs.ts";
import { registerMetrics } from "./routes/metrics.ts";
import { spoolRoutes } from "./routes/spool.ts";
import { openapiRoutes } from "./routes/openapi.ts";
import { queryRoutes } from "./routes/query.ts";

/** Default largest JSON request body: 10 MiB. */
export const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
/** Default largest file in a multipart upload: 100 MiB. */
export const DEFAULT_UPLOAD_LIMIT = 100 * 1024 * 1024;

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** Fastify's pino request logging (default off). */
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
}

/**
 * Builds the HTTP API over a Sluice facade: `/v1` routes (documents, collections, jobs,
 * query), `/health*`, `/metrics` and `/openapi.json`. Every error is answered with
 * `{statusCode, code, error, message}`. Request bodies are validated by the routes' zod
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
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT });

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
  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "Sluice", description: "Document ingestion and hybrid retrieval", version: "1.0.0" },
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
