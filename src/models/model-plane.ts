import type { ModelPlaneStatus } from "./model-status.ts";
import type { DenseEmbedder, OcrEngine, Reranker, SparseEncoder } from "./ports.ts";

/**
 * The one model port the engine talks to: every kind of inference it needs, from one place.
 * Two adapters sit side by side and pass one conformance suite: `InProcessModels` (the
 * backends in this process, the default) and `GrpcModels` (a `sluice model-server` over gRPC,
 * `models.mode: remote`), which loads no ML runtime at all. Getters build on first use and never
 * load weights; the models' own `warmUp()` does.
 *
 * @example
 * const models = await createModelPlane(config);
 * const [vector] = await models.embedder().embed(["resume a failed job"], { kind: "query" });
 * await models.close();
 */
export interface ModelPlane {
  readonly mode: "in-process" | "remote";
  /**
   * Checks what can be checked before the first call (a remote plane reads its TLS files): a bad
   * setting stops startup.
   */
  open(): Promise<void>;
  embedder(): DenseEmbedder;
  sparseEncoder(): SparseEncoder;
  reranker(): Reranker;
  ocr(): OcrEngine;
  /** Each service's model, health and residency, and the call queue: answers within a few seconds, never throws. */
  status(): Promise<ModelPlaneStatus>;
  close(): Promise<void>;
}
