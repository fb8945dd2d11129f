/**
 * Public face of the models layer: the ports, the embedder factory, the batch queue and the
 * micro-batcher over it, and the backends other layers may construct directly.
 *
 * @example
 * import { createEmbedder, MicroBatcher } from "sluice/models";
 * const embedder = new MicroBatcher(createEmbedder({ backend: "hash", dimensions: 256, batchSize: 256 }));
 */
export type { ChatMessage, ChatModel, DenseEmbedder, EmbedOptions, SparseEncoder } from "./ports.ts";
export { createEmbedder } from "./create-embedder.ts";
export { MicroBatcher, type MicroBatcherOptions } from "./batcher.ts";
export {
  BatchQueue,
  type BatchQueueOptions,
  type BatchHooks,
  type BatchResult,
  type RunBatch,
  type SubmitOptions,
} from "./batch-queue.ts";
export { OpenAIChatModel, type OpenAIChatConfig } from "./backends/openai-chat.ts";
export { HashEmbedder, type HashEmbedderOptions } from "./backends/hash-embedder.ts";
