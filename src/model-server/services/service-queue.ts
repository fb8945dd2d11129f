import { BatchQueue, type BatchQueueOptions, type RunBatch } from "../../models/batch-queue.ts";
import type { HostedService, ServiceDeps } from "../service-deps.ts";

/**
 * The batch queue of one hosted service: limits from `modelServer.batching` (a service may
 * tighten them), queue depth and batch sizes reported under the service's name.
 *
 * @example
 * const queue = serviceQueue(
 *   deps,
 *   "embed",
 *   (key, texts, signal) => embedder.embed(texts, { signal }),
 *   (t) => t.length,
 * );
 */
export function serviceQueue<I, O>(
  deps: ServiceDeps,
  service: HostedService,
  run: RunBatch<I, O>,
  weight: (item: I) => number,
  overrides: Partial<BatchQueueOptions> = {},
): BatchQueue<I, O> {
  const b = deps.batching;
  return new BatchQueue<I, O>(
    run,
    weight,
    {
      maxBatchItems: b.maxBatchItems,
      maxBatchWeight: b.maxBatchChars,
      maxWaitMs: b.maxWaitMs,
      maxQueuedItems: b.maxQueuedItems,
      closedMessage: "the model server is shutting down",
      ...overrides,
    },
    { onBatch: (n, s) => deps.metrics.observeBatch(service, n, s), onDepth: (n) => deps.metrics.setDepth(service, n) },
  );
}
