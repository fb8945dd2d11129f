import type { ModelPlane } from "../model-plane.ts";
import type { ModelPlaneStatus, ModelServiceStatus } from "../model-status.ts";
import type { ResidencyWire } from "./messages.ts";
import type { DenseEmbedder, OcrEngine, Reranker, SparseEncoder } from "../ports.ts";
import { GrpcModelClient, type GrpcModelClientOptions } from "./grpc-model-client.ts";
import { RemoteEmbedder } from "./remote-embedder.ts";
import { RemoteOcr } from "./remote-ocr.ts";
import { RemoteReranker } from "./remote-reranker.ts";
import { RemoteSparseEncoder } from "./remote-sparse-encoder.ts";

const RESIDENCY: Record<ResidencyWire, ModelServiceStatus["residency"]> = {
  RESIDENCY_UNSPECIFIED: "unknown",
  RESIDENCY_UNLOADED: "unloaded",
  RESIDENCY_LOADING: "loading",
  RESIDENCY_LOADED: "loaded",
};

/**
 * The remote adapter of the model port: every model lives in a `sluice model-server`, reached over
 * one gRPC channel. This module imports no ML runtime, directly or through another module.
 *
 * @example
 * const models = new GrpcModels({ address: "127.0.0.1:50051", timeoutMs: 30_000, maxInFlight: 8 });
 */
export class GrpcModels implements ModelPlane {
  readonly mode = "remote";
  readonly client: GrpcModelClient;
  readonly #embedder: RemoteEmbedder;
  readonly #sparse: RemoteSparseEncoder;
  readonly #reranker: RemoteReranker;
  readonly #ocr: RemoteOcr;

  constructor(options: GrpcModelClientOptions) {
    this.client = new GrpcModelClient(options);
    this.#embedder = new RemoteEmbedder(this.client);
    this.#sparse = new RemoteSparseEncoder(this.client);
    this.#reranker = new RemoteReranker(this.client);
    this.#ocr = new RemoteOcr(this.client);
  }

  async open(): Promise<void> {
    this.client.open();
  }

  embedder(): DenseEmbedder {
    return this.#embedder;
  }

  sparseEncoder(): SparseEncoder {
    return this.#sparse;
  }

  reranker(): Reranker {
    return this.#reranker;
  }

  ocr(): OcrEngine {
    return this.#ocr;
  }

  /** The server's Info (models, residency, GPUs) within 3 s, and this client's call queue. */
  async status(): Promise<ModelPlaneStatus> {
    const queue = {
      inFlight: this.client.limit.inFlight,
      waiting: this.client.limit.waiting,
      window: this.client.limit.window,
    };
    const base = { mode: "remote" as const, address: this.client.address, queue };
    try {
      const info = await this.client.info({ deadline: Date.now() + 3000 });
      return {
        ...base,
        serverVersion: info.serverVersion,
        services: info.models.map((m) => ({
          service: m.service,
          model: m.model,
          health: "SERVING" as const,
          residency: RESIDENCY[m.residency],
          device: m.device,
          ...(m.dimensions > 0 ? { dimensions: m.dimensions } : {}),
          keepAliveMs: m.keepAliveMs,
          idleMs: m.idleMs,
        })),
        gpus: info.gpus,
      };
    } catch (err) {
      return {
        ...base,
        error: err instanceof Error ? err.message : String(err),
        services: (["embed", "sparse", "rerank", "ocr"] as const).map((service) => ({
          service,
          model: "?",
          health: "NOT_SERVING" as const,
          residency: "unknown" as const,
          device: "?",
        })),
        gpus: [],
      };
    }
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
