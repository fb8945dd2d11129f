import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import type { HostedModels } from "./hosted-models.ts";
import type { ModelServerMetrics } from "./server-metrics.ts";

export interface MetricsHttp {
  address: string;
  close(): Promise<void>;
}

/**
 * A small HTTP side door of the model server for tools that do not speak gRPC: `/metrics`
 * (Prometheus), `/health/live` (200 while the process serves) and `/health/ready` (200 once every
 * hosted model can answer, else 503 naming those that cannot).
 *
 * @example
 * const http = await startMetricsHttp("127.0.0.1:9464", metrics, hosted);
 */
export async function startMetricsHttp(
  listen: string,
  metrics: ModelServerMetrics,
  hosted: HostedModels,
): Promise<MetricsHttp> {
  const at = listen.lastIndexOf(":");
  const host = listen.slice(0, at).replace(/^\[|\]$/g, "") || "127.0.0.1";
  const port = Number(listen.slice(at + 1));
  const server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const send = (status: number, type: string, body: string) =>
      res.writeHead(status, { "content-type": type }).end(body);
    if (req.method !== "GET") return send(405, "text/plain", "method not allowed\n");
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => send(200, metrics.registry.contentType, text),
        (err: unknown) => send(500, "text/plain", `${String(err)}\n`),
      );
      return;
    }
    if (path === "/health/live") return send(200, "application/json", JSON.stringify({ status: "ok" }));
    if (path === "/health/ready") {
      const notReady = hosted.notReady();
      return send(
        notReady.length === 0 ? 200 : 503,
        "application/json",
        JSON.stringify({ status: notReady.length === 0 ? "ok" : "loading", notReady }),
      );
    }
    return send(404, "text/plain", "not found\n");
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    address: `${host.includes(":") ? `[${host}]` : host}:${bound}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
