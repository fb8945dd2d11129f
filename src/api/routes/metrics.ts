import type { FastifyInstance } from "fastify";
import { collectDefaultMetrics, Counter, Histogram, Registry } from "prom-client";

/**
 * Prometheus metrics: default process metrics, `http_requests_total{route,method,status}` and
 * `http_request_duration_seconds{route,method,status}`, served at `GET /metrics`. Each app gets
 * its own registry (several apps in one process, as in tests, do not collide). The `route`
 * label is the route template (`/v1/jobs/:id`), or `unmatched` for 404s, so label cardinality
 * stays bounded. Call it on the root instance before registering routes: its hook is added to
 * that instance directly (not an encapsulated plugin), so it sees every request.
 *
 * @example
 * await registerMetrics(app);
 */
export async function registerMetrics(app: FastifyInstance, engine?: Registry): Promise<void> {
  const own = new Registry();
  collectDefaultMetrics({ register: own });
  // The engine's metrics (spool, gate, dead letters, stages) are served beside the HTTP ones.
  const registry = engine ? Registry.merge([own, engine]) : own;
  const labelNames = ["route", "method", "status"] as const;
  const requests = new Counter({
    name: "http_requests_total",
    help: "HTTP requests answered",
    labelNames,
    registers: [registry],
  });
  const duration = new Histogram({
    name: "http_request_duration_seconds",
    help: "Time from request received to response sent",
    labelNames,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });

  app.addHook("onResponse", async (request, reply) => {
    const labels = {
      route: request.routeOptions.url ?? "unmatched",
      method: request.method,
      status: String(reply.statusCode),
    };
    requests.inc(labels);
    duration.observe(labels, reply.elapsedTime / 1000);
  });
  app.addHook("onClose", async () => own.clear());

  app.get("/metrics", { schema: { summary: "Prometheus metrics", tags: ["health"] } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });
}
