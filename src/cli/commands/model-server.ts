import type { Command } from "commander";
import { globals } from "../context.ts";
import { printJson, println } from "../output.ts";

/**
 * `sluice model-server [--listen host:port]`: serves the configured models over gRPC until
 * SIGINT/SIGTERM, then drains calls in flight and unloads the models.
 *
 * @example
 * npx sluice model-server --listen 127.0.0.1:50051
 */
export function registerModelServer(program: Command): void {
  program
    .command("model-server")
    .description("serve embeddings, sparse weights, rerank and OCR over gRPC (grpc.health.v1, optional mTLS)")
    .option("--listen <host:port>", "address to bind (default: modelServer.listen in config, 127.0.0.1:50051)")
    .option(
      "--metrics <host:port>",
      "serve /metrics and /health/{live,ready} over HTTP here (default: modelServer.metricsListen)",
    )
    .action(async (opts: { listen?: string; metrics?: string }, command: Command) => {
      const g = globals(command);
      const [{ loadConfig }, { startTracing }] = await Promise.all([
        import("../../config/load-config.ts"),
        import("../../observability/tracing.ts"),
      ]);
      const config = loadConfig(g.config ? { path: g.config, explicit: true } : {});
      if (opts.metrics) config.modelServer.metricsListen = opts.metrics;
      // Imported here so that no other command pays for gRPC server code.
      const { ModelServer } = await import("../../model-server/model-server.ts");
      // Server spans of model calls continue their callers' traces (`tracing.otlpUrl`, OTEL_EXPORTER_OTLP_ENDPOINT).
      const tracing = await startTracing(config.tracing);
      const server = await ModelServer.start({ config, ...(opts.listen ? { listen: opts.listen } : {}) });
      const summary = {
        address: server.address,
        services: config.modelServer.services,
        tls: config.modelServer.tls !== undefined,
        metrics: server.metricsAddress ?? null,
      };
      if (g.json) printJson(summary);
      else
        println(
          `sluice model-server listening on ${server.address} (${summary.services.join(", ")}${summary.tls ? ", mTLS" : ""}${summary.metrics ? `; metrics on http://${summary.metrics}/metrics` : ""})`,
        );
      await new Promise<void>((resolveStop) => {
        process.once("SIGINT", () => resolveStop());
        process.once("SIGTERM", () => resolveStop());
      });
      await server.close();
      await tracing.shutdown();
    });
}
