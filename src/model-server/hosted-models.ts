import type { HealthImplementation } from "grpc-health-check";
import type { Logger } from "pino";
import type { ModelServerConfig } from "../config/schema.ts";
import type { ModelPlane } from "../models/model-plane.ts";
import type { ModelParams } from "../models/ports.ts";
import type { ModelInfoWire, ResidencyWire } from "../models/remote/messages.ts";
import { MODEL_SERVICES } from "../models/remote/proto.ts";
import type { DeviceMonitor, GpuInfo } from "../models/residency/device-monitor.ts";
import { ResidencyManager, type ResidencyState } from "../models/residency/residency-manager.ts";
import type { ModelServerMetrics } from "./server-metrics.ts";
import type { HostedService, ModelLease, ModelLeases } from "./service-deps.ts";

export interface HostedModelsOptions {
  models: ModelPlane;
  services: readonly HostedService[];
  health: HealthImplementation;
  metrics: ModelServerMetrics;
  logger: Logger;
  monitor: DeviceMonitor;
  residency: ModelServerConfig["residency"];
}

const RESIDENCY: Record<ResidencyState, ResidencyWire> = {
  unloaded: "RESIDENCY_UNLOADED",
  loading: "RESIDENCY_LOADING",
  loaded: "RESIDENCY_LOADED",
  // Still answering the calls it holds until the unload completes.
  unloading: "RESIDENCY_LOADED",
};

/**
 * The server's models under the residency policy: each hosted service is a resident model that
 * loads (`warmUp`) on first use or at start, is unloaded when idle past its keep-alive (shorter
 * under memory pressure), and is placed per call by the device policy. Readiness follows it: a
 * service is SERVING once its model has loaded, NOT_SERVING while its load fails; an idle unload
 * keeps it SERVING, since the next call loads it again.
 *
 * @example
 * const hosted = new HostedModels({
 *   models,
 *   services: ["embed"],
 *   health,
 *   metrics,
 *   logger,
 *   monitor,
 *   residency: config.modelServer.residency,
 * });
 * await hosted.loadAll();
 * const lease = await hosted.acquire("embed", { device: "gpu-preferred" });
 */
export class HostedModels implements ModelLeases {
  readonly #o: HostedModelsOptions;
  readonly #residency: ResidencyManager;
  readonly #failed = new Set<HostedService>();

  constructor(options: HostedModelsOptions) {
    this.#o = options;
    const { logger, metrics } = options;
    this.#residency = new ResidencyManager({
      monitor: options.monitor,
      ...options.residency,
      onChange: (event) => {
        const service = event.model as HostedService;
        logger.info(
          { service, state: event.state, device: event.device, reason: event.reason },
          `model ${event.state}`,
        );
        metrics.setLoaded(service, this.#modelId(service), event.device, event.state === "loaded");
        if (event.state === "loaded") {
          this.#failed.delete(service);
          options.health.setStatus(MODEL_SERVICES[service], "SERVING");
        }
      },
      onWarning: (message, err) => logger.warn({ err: err instanceof Error ? err.message : err }, message),
    });
    for (const service of options.services) {
      this.#residency.register({
        name: service,
        // The in-process backends run on the CPU (tfjs-wasm, onnxruntime CPU, tesseract wasm).
        supportsGpu: false,
        load: async () => {
          try {
            await this.#backend(service).warmUp();
          } catch (err) {
            this.#failed.add(service);
            options.health.setStatus(MODEL_SERVICES[service], "NOT_SERVING");
            throw err;
          }
        },
        unload: () => this.#backend(service).close(),
      });
    }
  }

  #backend(service: HostedService): { readonly id: string; warmUp(): Promise<void>; close(): Promise<void> } {
    const m = this.#o.models;
    return service === "embed"
      ? m.embedder()
      : service === "sparse"
        ? m.sparseEncoder()
        : service === "rerank"
          ? m.reranker()
          : m.ocr();
  }

  #modelId(service: HostedService): string {
    try {
      return this.#backend(service).id;
    } catch {
      return "unknown";
    }
  }

  acquire(service: HostedService, params: ModelParams): Promise<ModelLease> {
    return this.#residency.acquire(service, params);
  }

  /** First load of every hosted model (each flips its health to SERVING), then the residency timer starts. */
  async loadAll(): Promise<void> {
    await Promise.all(
      this.#o.services.map(async (service) => {
        try {
          (await this.#residency.acquire(service, {})).release();
        } catch (err) {
          this.#o.logger.error(
            { service, err: err instanceof Error ? err.message : String(err) },
            "model failed to load; the service stays NOT_SERVING until a call loads it",
          );
        }
      }),
    );
    this.#residency.start();
  }

  /** Hosted services that cannot answer now (failed to load, or have not loaded yet). */
  notReady(): HostedService[] {
    const loadedOnce = new Set(
      this.#residency
        .snapshot()
        .filter((m) => m.lastUsedAt !== undefined || m.state === "loaded")
        .map((m) => m.name),
    );
    return this.#o.services.filter((s) => this.#failed.has(s) || !loadedOnce.has(s));
  }

  /** Info's view: model ids, dimensions and languages, device and residency per service. */
  async describe(): Promise<ModelInfoWire[]> {
    const m = this.#o.models;
    const byName = new Map(this.#residency.snapshot().map((r) => [r.name, r]));
    return this.#o.services.map((service) => {
      const r = byName.get(service);
      const embedder = service === "embed" ? m.embedder() : undefined;
      return {
        service,
        model: this.#modelId(service),
        dimensions: embedder?.dimensions ?? 0,
        languages: [...(embedder?.languages ?? [])],
        device: r?.device ?? "cpu",
        residency: r ? RESIDENCY[r.state] : "RESIDENCY_UNSPECIFIED",
        keepAliveMs: r?.keepAliveMs ?? 0,
        idleMs: r?.idleMs ?? 0,
      };
    });
  }

  gpus(): GpuInfo[] {
    return this.#residency.deviceSnapshot()?.gpus ?? [];
  }

  close(): Promise<void> {
    return this.#residency.close();
  }
}
