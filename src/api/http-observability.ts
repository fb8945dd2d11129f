import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from "fastify";
import type { Logger } from "pino";
import { createLogger } from "../observability/logger.ts";
import {
  contextFromTraceparent,
  type Span,
  SpanKind,
  failSpan,
  runInContext,
  startSpan,
  tracingEnabled,
} from "../observability/tracing.ts";
import type { Context } from "@opentelemetry/api";

/**
 * The logger Fastify logs requests with: `false` turns request logs off; `true` turns them on at
 * `info` at least, even when the engine's own level (`logging.level`, SLUICE_LOG_LEVEL) is
 * `silent`; left out, they follow the engine's level (off by default). Undefined means "no logger".
 *
 * @example
 * const loggerInstance = requestLogger(sluice.logger, options.logger);
 */
export function requestLogger(engine: Logger, option: boolean | undefined): FastifyBaseLogger | undefined {
  if (option === false) return undefined;
  if (option === true && !engine.isLevelEnabled("info")) {
    // A silent engine logger is pino's disabled one: request logs get one of their own, on stderr.
    return engine.isLevelEnabled("fatal") ? engine.child({}, { level: "info" }) : createLogger({ level: "info" });
  }
  return engine.isLevelEnabled("fatal") ? engine : undefined;
}

function header(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * Per-request observability on the root instance: with tracing on, a SERVER span per request
 * named by its route pattern (`POST /v1/query`), continuing an incoming W3C `traceparent`, and
 * active for the hooks and the handler, so a query or an ingest's gate span is its child; with
 * request logs on, `tenant` (the authenticated principal's) on every line after authentication.
 * Call it before registering routes.
 *
 * @example
 * registerHttpObservability(app, { logs: true });
 */
export function registerHttpObservability(app: FastifyInstance, options: { logs: boolean }): void {
  const spans = new WeakMap<FastifyRequest, { span: Span; context: Context }>();

  app.addHook("onRequest", (request, _reply, done) => {
    if (!tracingEnabled()) return done();
    const route = request.routeOptions.url ?? "unmatched";
    const started = startSpan(`${request.method} ${route}`, {
      kind: SpanKind.SERVER,
      parent: contextFromTraceparent(header(request, "traceparent")),
      attributes: { "http.request.method": request.method, "http.route": route, "sluice.request_id": request.id },
    });
    if (!started) return done();
    spans.set(request, started);
    runInContext(started.context, done);
  });

  app.addHook("preHandler", (request, reply, done) => {
    if (options.logs && request.principal)
      request.log = reply.log = request.log.child({ tenant: request.principal.tenant });
    // Body parsing runs on the socket's callbacks, outside the context entered above: enter it again for the handler.
    const started = spans.get(request);
    if (started) runInContext(started.context, done);
    else done();
  });

  const end = (request: FastifyRequest, status: number | null) => {
    const started = spans.get(request);
    if (!started) return;
    spans.delete(request);
    if (status === null) failSpan(started.span, "client closed the request");
    else {
      started.span.setAttribute("http.response.status_code", status);
      if (status >= 500) failSpan(started.span, `HTTP ${status}`);
    }
    started.span.end();
  };
  app.addHook("onResponse", async (request, reply) => end(request, reply.statusCode));
  app.addHook("onRequestAbort", async (request) => end(request, null));
}
