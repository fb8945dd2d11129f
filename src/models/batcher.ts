import { BatchQueue } from "./batch-queue.ts";
import type { DenseEmbedder, EmbedOptions } from "./ports.ts";

export interface MicroBatcherOptions {
  /** Most texts per backend call. Default 64. */
  maxBatch?: number;
  /** Most characters per backend call; a single longer text goes alone. Default: no limit. */
  maxBatchChars?: number;
  /** How long a partial batch waits for company before it is sent. Default 2 ms. */
  maxWaitMs?: number;
  /**
   * Backend calls in flight at once. Default 1 (in-process models are single-threaded anyway; raise
   * it for HTTP backends).
   */
  concurrency?: number;
}

type Kind = EmbedOptions["kind"];

/** Batch key of a text kind: query and passage texts never share a batch (some models prefix them). */
const keyOf = (kind: Kind): string => kind ?? "";
const kindOf = (key: string): Kind => (key === "" ? undefined : (key as NonNullable<Kind>));

/**
 * Coalesces concurrent `embed()` calls (one per document, 8-16 documents in flight) into backend
 * batches of up to `maxBatch` texts. It is a `DenseEmbedder` over the shared `BatchQueue` (the
 * model server's batcher too), keyed by text kind, with no queue bound: the queue's tests cover the
 * batching, splitting, failure and cancellation rules; this class only adapts the embedder port.
 *
 * It has the wrapped embedder's `id`, `dimensions` and `languages`. A backend call runs with an
 * abort signal that fires once every caller with texts in it has gone. `close()` rejects queued
 * calls (MODEL_UNAVAILABLE "embedder is closed"), waits for batches in flight, then closes the
 * wrapped embedder; a later `warmUp()` opens it again.
 *
 * @example
 * const embedder = new MicroBatcher(createEmbedder(config.embedder), { maxBatch: 64 });
 * const vectors = await Promise.all(docs.map((d) => embedder.embed(d.chunks)));
 */
export class MicroBatcher implements DenseEmbedder {
  private readonly inner: DenseEmbedder;
  private readonly options: MicroBatcherOptions;
  private queue: BatchQueue<string, Float32Array>;
  private closed = false;

  constructor(inner: DenseEmbedder, options: MicroBatcherOptions = {}) {
    this.inner = inner;
    this.options = options;
    this.queue = this.newQueue();
  }

  get id(): string {
    return this.inner.id;
  }

  get dimensions(): number {
    return this.inner.dimensions;
  }

  get languages(): readonly string[] | undefined {
    return this.inner.languages;
  }

  async warmUp(): Promise<void> {
    if (this.closed) {
      this.queue = this.newQueue();
      this.closed = false;
    }
    await this.inner.warmUp();
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const { results } = await this.queue.submit(
      keyOf(options.kind),
      texts,
      options.signal ? { signal: options.signal } : {},
    );
    return results;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.queue.close();
    await this.inner.close();
  }

  private newQueue(): BatchQueue<string, Float32Array> {
    const { maxBatch = 64, maxBatchChars, maxWaitMs = 2, concurrency = 1 } = this.options;
    return new BatchQueue<string, Float32Array>(
      (key, texts, signal) => {
        const kind = kindOf(key);
        return this.inner.embed(texts, kind === undefined ? { signal } : { kind, signal });
      },
      (text) => text.length,
      {
        maxBatchItems: maxBatch,
        maxWaitMs,
        concurrency,
        closedMessage: "embedder is closed",
        ...(maxBatchChars === undefined ? {} : { maxBatchWeight: maxBatchChars }),
      },
    );
  }
}
