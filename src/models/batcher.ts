import { SluiceError } from "../contracts/errors.ts";
import type { DenseEmbedder, EmbedOptions } from "./ports.ts";

export interface MicroBatcherOptions {
  /** Most texts per backend call. Default 64. */
  maxBatch?: number;
  /** How long a partial batch waits for company before it is sent. Default 2 ms. */
  maxWaitMs?: number;
  /** Backend calls in flight at once. Default 1 (in-process models are single-threaded anyway; raise it for HTTP backends). */
  concurrency?: number;
}

type Kind = EmbedOptions["kind"];

interface Request {
  readonly texts: readonly string[];
  /** Index of the first text not yet handed to a batch. */
  next: number;
  readonly results: Float32Array[];
  /** Texts whose vectors have not come back yet. */
  remaining: number;
  settled: boolean;
  readonly resolve: (vectors: Float32Array[]) => void;
  readonly reject: (err: unknown) => void;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: () => void;
}

/** Requests of one `kind` (query and passage texts never share a batch: some models prefix them). */
interface Lane {
  readonly kind: Kind;
  readonly queue: Request[];
  /** Unsent texts in `queue`. */
  queued: number;
  timer: NodeJS.Timeout | undefined;
  /** The wait ran out while every backend slot was busy: send as soon as one frees. */
  due: boolean;
}

interface Segment {
  readonly request: Request;
  readonly start: number;
  readonly count: number;
}

/**
 * Coalesces concurrent `embed()` calls (one per document, 8-16 documents in flight) into backend
 * batches of up to `maxBatch` texts. A batch is sent as soon as it is full, or `maxWaitMs` after
 * texts started waiting; while `concurrency` batches are in flight, new texts queue up and go out
 * in the next (usually full) batch. A call larger than `maxBatch` spans several batches.
 *
 * Each caller gets exactly its own vectors, in order. A failed batch rejects every caller with
 * texts in it (and drops their unsent texts). An aborted caller is rejected at once with the
 * signal's reason and its unsent texts are dropped; texts already sent finish and are discarded.
 * It is itself a `DenseEmbedder` with the wrapped one's `id` and `dimensions`; `close()` rejects
 * queued calls, waits for batches in flight, then closes the wrapped embedder.
 *
 * @example
 * const embedder = new MicroBatcher(createEmbedder(config.embedder), { maxBatch: 64 });
 * const vectors = await Promise.all(docs.map((d) => embedder.embed(d.chunks)));
 */
export class MicroBatcher implements DenseEmbedder {
  private readonly inner: DenseEmbedder;
  private readonly maxBatch: number;
  private readonly maxWaitMs: number;
  private readonly concurrency: number;
  private readonly lanes = new Map<Kind, Lane>();
  private readonly inFlight = new Set<Promise<void>>();
  private closed = false;

  constructor(inner: DenseEmbedder, options: MicroBatcherOptions = {}) {
    this.inner = inner;
    this.maxBatch = positiveInt(options.maxBatch ?? 64, "maxBatch");
    this.maxWaitMs = Math.max(0, options.maxWaitMs ?? 2);
    this.concurrency = positiveInt(options.concurrency ?? 1, "concurrency");
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
    this.closed = false;
    await this.inner.warmUp();
  }

  embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (this.closed) return Promise.reject(closedError());
    if (texts.length === 0) return Promise.resolve([]);
    let lane = this.lanes.get(options.kind);
    if (lane === undefined) {
      lane = { kind: options.kind, queue: [], queued: 0, timer: undefined, due: false };
      this.lanes.set(options.kind, lane);
    }
    const theLane = lane;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const request: Request = {
        texts,
        next: 0,
        results: new Array<Float32Array>(texts.length),
        remaining: texts.length,
        settled: false,
        resolve,
        reject,
        signal,
        onAbort: () => this.fail(request, signal?.reason, theLane),
      };
      signal?.addEventListener("abort", request.onAbort, { once: true });
      theLane.queue.push(request);
      theLane.queued += texts.length;
      this.pump(theLane);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const lane of this.lanes.values()) {
      for (const request of [...lane.queue]) this.fail(request, closedError(), lane);
      if (lane.timer) clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    await Promise.allSettled([...this.inFlight]);
    await this.inner.close();
  }

  /** Sends what is ready in `lane`, and arms its timer for what is left. */
  private pump(lane: Lane): void {
    if (lane.queued === 0) lane.due = false;
    while (lane.queued > 0 && this.inFlight.size < this.concurrency && (lane.queued >= this.maxBatch || lane.due)) {
      this.dispatch(lane);
    }
    if (lane.queued > 0 && !lane.due && lane.timer === undefined) {
      lane.timer = setTimeout(() => {
        lane.timer = undefined;
        lane.due = true;
        this.pump(lane);
      }, this.maxWaitMs);
    }
  }

  private dispatch(lane: Lane): void {
    const segments: Segment[] = [];
    const texts: string[] = [];
    while (texts.length < this.maxBatch && lane.queue.length > 0) {
      const request = lane.queue[0] as Request;
      const count = Math.min(request.texts.length - request.next, this.maxBatch - texts.length);
      segments.push({ request, start: request.next, count });
      for (let i = request.next; i < request.next + count; i++) texts.push(request.texts[i] as string);
      request.next += count;
      lane.queued -= count;
      if (request.next === request.texts.length) lane.queue.shift();
    }
    lane.due = false;
    if (lane.queued === 0 && lane.timer !== undefined) {
      clearTimeout(lane.timer);
      lane.timer = undefined;
    }
    const batch = this.runBatch(texts, segments, lane).finally(() => {
      this.inFlight.delete(batch);
      for (const l of this.lanes.values()) this.pump(l);
    });
    this.inFlight.add(batch);
  }

  /** Never rejects: outcomes go to the callers. */
  private async runBatch(texts: string[], segments: Segment[], lane: Lane): Promise<void> {
    let vectors: Float32Array[];
    try {
      vectors = await this.inner.embed(texts, lane.kind === undefined ? {} : { kind: lane.kind });
      if (vectors.length !== texts.length) {
        throw new SluiceError("MODEL_BAD_RESPONSE", `embedder ${this.inner.id} returned ${vectors.length} vectors for ${texts.length} texts`);
      }
    } catch (err) {
      for (const s of segments) this.fail(s.request, err, lane);
      return;
    }
    let offset = 0;
    for (const { request, start, count } of segments) {
      if (!request.settled) {
        for (let i = 0; i < count; i++) request.results[start + i] = vectors[offset + i] as Float32Array;
        request.remaining -= count;
        if (request.remaining === 0) {
          request.settled = true;
          request.signal?.removeEventListener("abort", request.onAbort);
          request.resolve(request.results);
        }
      }
      offset += count;
    }
  }

  private fail(request: Request, err: unknown, lane: Lane): void {
    if (request.settled) return;
    request.settled = true;
    request.signal?.removeEventListener("abort", request.onAbort);
    const at = lane.queue.indexOf(request);
    if (at >= 0) {
      lane.queue.splice(at, 1);
      lane.queued -= request.texts.length - request.next;
    }
    request.reject(err);
  }
}

function positiveInt(value: number, name: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new SluiceError("CONFIG_INVALID", `MicroBatcher ${name} must be a positive integer, got ${value}`);
  return value;
}

function closedError(): SluiceError {
  return new SluiceError("MODEL_UNAVAILABLE", "embedder is closed");
}
