import type { ModelPlane } from "../model-plane.ts";
import type { DenseEmbedder, OcrEngine, Reranker, SparseEncoder } from "../ports.ts";
import { GrpcModelClient, type GrpcModelClientOptions } from "./grpc-model-client.ts";
import { RemoteEmbedder } from "./remote-embedder.ts";
import { RemoteOcr } from "./remote-ocr.ts";
import { RemoteReranker } from "./remote-reranker.ts";
import { RemoteSparseEncoder } from "./remote-sparse-encoder.ts";

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

  close(): Promise<void> {
    return this.client.close();
  }
}
