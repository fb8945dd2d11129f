import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { pino, type Logger } from "pino";
import type { SluiceConfig } from "../config/schema.ts";
import { InProcessModels } from "../models/in-process-models.ts";
import type { ModelPlane } from "../models/model-plane.ts";
import { resolveModelThreads } from "../models/threaded-embedder.ts";
import { modelProto, MODEL_SERVICES } from "../models/remote/proto.ts";
import { assertListenAllowed, callerAllowList, serverCredentials } from "../models/remote/tls-credentials.ts";
import type { DeviceMonitor } from "../models/residency/device-monitor.ts";
import { NvidiaSmiMonitor } from "../models/residency/nvidia-smi-monitor.ts";
import { HostedModels } from "./hosted-models.ts";
import { startMetricsHttp, type MetricsHttp } from "./metrics-http.ts";
import { ModelServerMetrics } from "./server-metrics.ts";
import type { HostedService, ServiceDeps } from "./service-deps.ts";
import { embedService } from "./services/embed-service.ts";
import { infoService } from "./services/info-service.ts";
import { ocrService } from "./services/ocr-service.ts";
import { rerankService } from "./services/rerank-service.ts";
import { sparseService } from "./services/sparse-service.ts";

export interface ModelServerOptions {
  config: SluiceConfig;
  /**
   * host:port to bind (default `modelServer.listen`, which env SLUICE_MODEL_SERVER_LISTEN
   * overrides); port 0 picks a free one.
   */
  listen?: string;
  /** The backends to serve (default: the in-process backends the config names). */
  models?: ModelPlane;
  /** Default: nvidia-smi when present, else no GPUs. */
  monitor?: DeviceMonitor;
  logger?: Logger;
}

const BUILDERS = { embed: embedService, sparse: sparseService, rerank: rerankService, ocr: ocrService } as const;

/**
 * `sluice model-server`: the model backends behind gRPC, so gateways and pipeline workers load no
 * ML runtime. Liveness and readiness are apart in `grpc.health.v1`: the server-wide service `""`
 * is SERVING once the port is bound; each model service (`sluice.model.v1.Embedder`, …) is
 * NOT_SERVING while its model loads and SERVING once it can answer, and Watch streams every
 * change. With `modelServer.tls` every caller needs a certificate from the CA whose CN is on the
 * allow-list; without TLS it binds to loopback only unless told otherwise.
 *
 * @example
 * const server = await ModelServer.start({ config, listen: "127.0.0.1:0" });
 * await server.ready();
 * console.log(server.address); // 127.0.0.1:40123
 * await server.close();
 */
export class ModelServer {
  readonly address: string;
  readonly metrics: ModelServerMetrics;
  readonly health: HealthImplementation;
  readonly hosted: HostedModels;
  readonly #server: grpc.Server;
  readonly #models: ModelPlane;
  readonly #metricsHttp: MetricsHttp | undefined;
  readonly #loading: Promise<void>;

  private constructor(parts: {
    address: string;
    server: grpc.Server;
    models: ModelPlane;
    metrics: ModelServerMetrics;
    health: HealthImplementation;
    hosted: HostedModels;
    metricsHttp: MetricsHttp | undefined;
  }) {
    this.address = parts.address;
    this.#server = parts.server;
    this.#models = parts.models;
    this.metrics = parts.metrics;
    this.health = parts.health;
    this.hosted = parts.hosted;
    this.#metricsHttp = parts.metricsHttp;
    // Models load after the port is bound, so probes see "alive, not ready" while they do.
    this.#loading = parts.hosted.loadAll();
  }

  static async start(options: ModelServerOptions): Promise<ModelServer> {
    const { config } = options;
    const sc = config.modelServer;
    const listen = options.listen ?? sc.listen;
    const { host, port } = assertListenAllowed(listen, {
      tls: sc.tls !== undefined,
      allowInsecureNonLoopback: sc.allowInsecureNonLoopback,
    });
    // Read certificates before anything starts: a missing file stops startup with its name.
    const credentials = serverCredentials(sc.tls, "modelServer.tls");
    const logger = options.logger ?? pino({ name: "sluice-model-server" }, pino.destination(2));
    const metrics = new ModelServerMetrics();
    const services = [...new Set(sc.services)] as HostedService[];
    const health = new HealthImplementation({
      "": "NOT_SERVING",
      ...Object.fromEntries(services.map((s) => [MODEL_SERVICES[s], "NOT_SERVING"])),
      [MODEL_SERVICES.info]: "NOT_SERVING",
    });
    const models =
      options.models ??
      new InProcessModels({
        embedder: config.embedder,
        ocrLanguages: config.ocr.languages,
        // Off the event loop, so health checks and new calls are answered while the models compute.
        threads: resolveModelThreads(config.models.threads),
      });
    const hosted = new HostedModels({
      models,
      services,
      health,
      metrics,
      logger,
      monitor: options.monitor ?? new NvidiaSmiMonitor({ onWarning: (message) => logger.warn(message) }),
      residency: sc.residency,
    });
    const server = new grpc.Server({
      ...(sc.tls ? { interceptors: [callerAllowList(sc.tls.allowedClients)] } : {}),
      "grpc.max_receive_message_length": 256 * 1024 * 1024,
      "grpc.max_send_message_length": 256 * 1024 * 1024,
    });
    const deps: ServiceDeps = { models, leases: hosted, metrics, logger, batching: sc.batching };
    const proto = modelProto();
    for (const service of services) server.addService(proto[service].service, BUILDERS[service](deps));
    server.addService(proto.info.service, infoService(deps, hosted));
    health.addToServer(server);
    const target = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
    const bound = await new Promise<number>((resolve, reject) =>
      server.bindAsync(target, credentials, (err, p) => (err ? reject(err) : resolve(p))),
    );
    const address = host.includes(":") ? `[${host}]:${bound}` : `${host}:${bound}`;
    const metricsHttp = sc.metricsListen ? await startMetricsHttp(sc.metricsListen, metrics, hosted) : undefined;
    health.setStatus("", "SERVING");
    health.setStatus(MODEL_SERVICES.info, "SERVING");
    logger.info(
      { address, services, tls: sc.tls !== undefined, metrics: metricsHttp?.address },
      "model server listening",
    );
    return new ModelServer({ address, server, models, metrics, health, hosted, metricsHttp });
  }

  /** Resolves once every hosted model has had its first load (failed loads stay NOT_SERVING and are logged). */
  ready(): Promise<void> {
    return this.#loading;
  }

  /** Where `/metrics` and the HTTP probes answer, when `modelServer.metricsListen` is set. */
  get metricsAddress(): string | undefined {
    return this.#metricsHttp?.address;
  }

  /**
   * Stops taking calls, lets running ones finish for up to `graceMs`, then cuts the rest; unloads
   * every model.
   */
  async close(graceMs = 5_000): Promise<void> {
    this.health.setStatus("", "NOT_SERVING");
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        this.#server.forceShutdown();
        resolve();
      }, graceMs);
      force.unref();
      this.#server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
    await this.#metricsHttp?.close();
    await this.#loading.catch(() => undefined);
    await this.hosted.close();
    await this.#models.close();
  }
}
