import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * The model server's Prometheus metrics, in a registry of its own: requests by method and gRPC
 * code, their latency, queue depth and batch size per service, items through each model, and
 * which models are loaded where.
 *
 * @example
 * const metrics = new ModelServerMetrics();
 * metrics.observeRequest("Embed", "OK", 0.004);
 * const text = await metrics.registry.metrics();
 */
export class ModelServerMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<"method" | "code">;
  readonly #latency: Histogram<"method" | "code">;
  readonly #depth: Gauge<"service">;
  readonly #batch: Histogram<"service">;
  readonly #batchSeconds: Histogram<"service">;
  readonly #items: Counter<"service">;
  readonly #loaded: Gauge<"service" | "model" | "device">;

  constructor() {
    const registers = [this.registry];
    this.#requests = new Counter({
      name: "model_server_requests_total",
      help: "gRPC requests by method and status code",
      labelNames: ["method", "code"],
      registers,
    });
    this.#latency = new Histogram({
      name: "model_server_request_duration_seconds",
      help: "gRPC request latency by method and status code",
      labelNames: ["method", "code"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
    this.#depth = new Gauge({
      name: "model_server_queue_depth",
      help: "Items waiting for a model batch",
      labelNames: ["service"],
      registers,
    });
    this.#batch = new Histogram({
      name: "model_server_batch_size",
      help: "Items per model batch",
      labelNames: ["service"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
      registers,
    });
    this.#batchSeconds = new Histogram({
      name: "model_server_batch_duration_seconds",
      help: "Model time per batch",
      labelNames: ["service"],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
      registers,
    });
    this.#items = new Counter({
      name: "model_server_items_total",
      help: "Items (texts, passages, pages) that went through a model",
      labelNames: ["service"],
      registers,
    });
    this.#loaded = new Gauge({
      name: "model_server_model_loaded",
      help: "1 while a model is loaded, by service, model and device",
      labelNames: ["service", "model", "device"],
      registers,
    });
  }

  observeRequest(method: string, code: string, seconds: number): void {
    this.#requests.inc({ method, code });
    this.#latency.observe({ method, code }, seconds);
  }

  setDepth(service: string, items: number): void {
    this.#depth.set({ service }, items);
  }

  observeBatch(service: string, items: number, seconds: number): void {
    this.#batch.observe({ service }, items);
    this.#batchSeconds.observe({ service }, seconds);
    this.#items.inc({ service }, items);
  }

  setLoaded(service: string, model: string, device: string, loaded: boolean): void {
    this.#loaded.set({ service, model, device }, loaded ? 1 : 0);
  }

  /** Items a service has run through its model so far (tests read it to see work stop). */
  async itemsProcessed(service: string): Promise<number> {
    const metric = await this.#items.get();
    return metric.values.find((v) => v.labels.service === service)?.value ?? 0;
  }
}
