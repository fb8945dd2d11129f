import { SluiceError } from "../contracts/errors.ts";

export interface BatchQueueOptions {
  /** Most items in one model batch (a positive integer). */
  maxBatchItems: number;
  /**
   * Most weight (characters of text: a token proxy) in one model batch; a single heavier item goes
   * alone. Default: no limit.
   */
  maxBatchWeight?: number;
  /** How long a partial batch waits for company. */
  maxWaitMs: number;
  /** Items waiting at most; a call that would pass it is refused with MODEL_OVERLOADED. Default: no limit. */
  maxQueuedItems?: number;
  /** Batches run at once (in-process runtimes are single-threaded: 1). */
  concurrency?: number;
  /** Message of the MODEL_UNAVAILABLE error for calls refused or dropped by `close()`. */
  closedMessage?: string;
}

export interface BatchHooks {
  /** After every batch: its size and model time. */
  onBatch?: (items: number, seconds: number) => void;
  /** Whenever the number of waiting items changes. */
  onDepth?: (items: number) => void;
}

export interface SubmitOptions {
  /** The call was cancelled (or its deadline passed): drop what has not run, abort what runs only for it. */
  signal?: AbortSignal;
  /** Absolute deadline (epoch ms): items still waiting past it are not run. */
  deadline?: number;
}

export interface BatchResult<O> {
  results: O[];
  /** From submit until the call's first item went into a batch. */
  queueTimeNs: bigint;
  /** Model time of every batch that carried the call's items. */
  inferenceTimeNs: bigint;
}

/** Runs one batch of same-key items; aborted when every call in the batch has gone away. */
export type RunBatch<I, O> = (key: string, items: I[], signal: AbortSignal) => Promise<O[]>;

interface Call<I, O> {
  readonly key: string;
  readonly items: readonly I[];
  next: number;
  readonly results: O[];
  remaining: number;
  readonly arrived: bigint;
  firstBatched: bigint | undefined;
  inference: bigint;
  settled: boolean;
  readonly deadline: number | undefined;
  readonly resolve: (result: BatchResult<O>) => void;
  readonly reject: (err: unknown) => void;
  /** Removes the abort listener from the caller's signal once the call is settled. */
  detach: () => void;
  /** Batches now running with some of this call's items. */
  readonly running: Set<RunningBatch<I, O>>;
}

interface RunningBatch<I, O> {
  readonly controller: AbortController;
  readonly segments: ReadonlyArray<Segment<I, O>>;
}

interface Segment<I, O> {
  call: Call<I, O>;
  start: number;
  count: number;
}

/**
 * The one dynamic batcher: the model server's queue per hosted service, and under `MicroBatcher`
 * the client-side coalescing of in-process embed calls. Calls with the same key (model parameters, text kind) share
 * batches of up to `maxBatchItems` items and `maxBatchWeight` weight; a batch goes as soon as it
 * is full or its oldest item has waited `maxWaitMs`. The queue is bounded: a call that would take
 * it past `maxQueuedItems` is refused at once with MODEL_OVERLOADED (gRPC RESOURCE_EXHAUSTED), so
 * a flooded server answers "slow down" instead of running out of memory. A cancelled call leaves
 * the queue; a running batch is aborted once no call in it is still waiting; items whose deadline
 * passed while queued never run (DEADLINE_EXCEEDED). Options that are not positive integers
 * (`maxBatchItems`, `concurrency`, `maxQueuedItems`) or numbers ≥ 0 (`maxWaitMs`, `maxBatchWeight`)
 * are refused with CONFIG_INVALID.
 *
 * @example
 * const queue = new BatchQueue((key, texts, signal) => embedder.embed(texts, { signal }), (t) => t.length, options);
 * const { results, queueTimeNs, inferenceTimeNs } = await queue.submit("passage", texts, { signal });
 */
export class BatchQueue<I, O> {
  readonly #run: RunBatch<I, O>;
  readonly #weight: (item: I) => number;
  readonly #o: Required<Omit<BatchQueueOptions, "closedMessage">>;
  readonly #closedMessage: string;
  /** Batches now running (their dispatch promises), so `close()` can wait for them. */
  readonly #inFlight = new Set<Promise<void>>();
  readonly #hooks: BatchHooks;
  /** Calls with unsent items, in arrival order. */
  readonly #waiting: Array<Call<I, O>> = [];
  #queued = 0;
  #running = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(run: RunBatch<I, O>, weight: (item: I) => number, options: BatchQueueOptions, hooks: BatchHooks = {}) {
    this.#run = run;
    this.#weight = weight;
    const { closedMessage, ...limits } = options;
    this.#o = {
      concurrency: 1,
      maxBatchWeight: Number.POSITIVE_INFINITY,
      maxQueuedItems: Number.POSITIVE_INFINITY,
      ...limits,
    };
    checkOptions(this.#o);
    this.#closedMessage = closedMessage ?? "the batch queue is closed";
    this.#hooks = hooks;
  }

  /** Items waiting to be batched. */
  get depth(): number {
    return this.#queued;
  }

  submit(key: string, items: readonly I[], options: SubmitOptions = {}): Promise<BatchResult<O>> {
    const { signal } = options;
    if (this.#closed) return Promise.reject(new SluiceError("MODEL_UNAVAILABLE", this.#closedMessage));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    if (items.length === 0) return Promise.resolve({ results: [], queueTimeNs: 0n, inferenceTimeNs: 0n });
    if (items.length > this.#o.maxQueuedItems) {
      return Promise.reject(
        new SluiceError(
          "VALIDATION_FAILED",
          `a call of ${items.length} items is larger than the server's whole queue (${this.#o.maxQueuedItems}); send smaller calls`,
        ),
      );
    }
    if (this.#queued + items.length > this.#o.maxQueuedItems) {
      return Promise.reject(
        new SluiceError(
          "MODEL_OVERLOADED",
          `queue full: ${this.#queued} items waiting, limit ${this.#o.maxQueuedItems}; retry with backoff`,
          { details: { queued: this.#queued } },
        ),
      );
    }
    return new Promise<BatchResult<O>>((resolve, reject) => {
      const call: Call<I, O> = {
        key,
        items,
        next: 0,
        results: new Array<O>(items.length),
        remaining: items.length,
        arrived: process.hrtime.bigint(),
        firstBatched: undefined,
        inference: 0n,
        settled: false,
        deadline: options.deadline,
        resolve,
        reject,
        detach: () => undefined,
        running: new Set(),
      };
      if (signal) {
        const onAbort = () => this.#fail(call, signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
        call.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.#waiting.push(call);
      this.#setQueued(this.#queued + items.length);
      this.#pump();
    });
  }

  /** Refuses new calls and fails the waiting ones at once; resolves when the running batches have finished. */
  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const call of [...this.#waiting]) this.#fail(call, new SluiceError("MODEL_UNAVAILABLE", this.#closedMessage));
    await Promise.allSettled([...this.#inFlight]);
  }

  #setQueued(n: number): void {
    this.#queued = n;
    this.#hooks.onDepth?.(n);
  }

  /** Settles a call with an error and takes its unsent items out of the queue. */
  #fail(call: Call<I, O>, err: unknown): void {
    if (call.settled) return;
    call.settled = true;
    call.detach();
    const i = this.#waiting.indexOf(call);
    if (i >= 0) {
      this.#waiting.splice(i, 1);
      this.#setQueued(this.#queued - (call.items.length - call.next));
    }
    call.reject(err);
    // A batch runs for its callers: once every one of them has gone, stop the model work.
    for (const batch of call.running) {
      if (batch.segments.every((seg) => seg.call.settled))
        batch.controller.abort(new SluiceError("JOB_CANCELLED", "every call in the batch was cancelled"));
    }
  }

  #pump(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const now = Date.now();
    for (const call of [...this.#waiting]) {
      if (call.deadline !== undefined && now >= call.deadline)
        this.#fail(
          call,
          new SluiceError("DEADLINE_EXCEEDED", "the call's deadline passed while it waited in the queue"),
        );
    }
    while (this.#running < this.#o.concurrency && this.#waiting.length > 0) {
      const next = this.#nextBatch();
      if (!next) {
        // Nothing is full yet: wake when the oldest call (the head) is due.
        const waitedMs = Number(process.hrtime.bigint() - this.#waiting[0]!.arrived) / 1e6;
        this.#timer = setTimeout(() => this.#pump(), Math.max(0, this.#o.maxWaitMs - waitedMs));
        return;
      }
      const batch = this.#dispatch(next.key, next.segments).finally(() => this.#inFlight.delete(batch));
      this.#inFlight.add(batch);
    }
  }

  /**
   * The next batch to send: keys are tried oldest call first, so a due partial batch goes before a
   * younger key's full one, but a full batch never waits behind another key's partial batch.
   */
  #nextBatch(): { key: string; segments: Array<Segment<I, O>> } | undefined {
    const now = process.hrtime.bigint();
    const tried = new Set<string>();
    for (const call of this.#waiting) {
      if (tried.has(call.key)) continue;
      tried.add(call.key);
      // A key's first waiting call holds its oldest item.
      const segments = this.#take(call.key, Number(now - call.arrived) / 1e6 >= this.#o.maxWaitMs);
      if (segments) return { key: call.key, segments };
    }
    return undefined;
  }

  /** Items for one batch of `key`, oldest first; undefined while the batch is not full and may still wait. */
  #take(key: string, due: boolean): Array<Segment<I, O>> | undefined {
    let count = 0;
    let weight = 0;
    let full = false;
    const plan: Array<{ call: Call<I, O>; take: number }> = [];
    for (const call of this.#waiting) {
      if (call.key !== key) continue;
      let take = 0;
      for (let i = call.next; i < call.items.length; i++) {
        const w = this.#weight(call.items[i]!);
        if (count > 0 && (count + 1 > this.#o.maxBatchItems || weight + w > this.#o.maxBatchWeight)) {
          full = true;
          break;
        }
        count++;
        weight += w;
        take++;
        if (count >= this.#o.maxBatchItems) {
          full = true;
          break;
        }
      }
      if (take > 0) plan.push({ call, take });
      if (full) break;
    }
    if (!full && !due) return undefined;
    const now = process.hrtime.bigint();
    const segments = plan.map(({ call, take }) => {
      const segment = { call, start: call.next, count: take };
      call.next += take;
      call.firstBatched ??= now;
      if (call.next >= call.items.length) this.#waiting.splice(this.#waiting.indexOf(call), 1);
      return segment;
    });
    this.#setQueued(this.#queued - count);
    return segments;
  }

  async #dispatch(key: string, segments: Array<Segment<I, O>>): Promise<void> {
    this.#running++;
    const batch: RunningBatch<I, O> = { controller: new AbortController(), segments };
    for (const { call } of segments) call.running.add(batch);
    const items = segments.flatMap((s) => s.call.items.slice(s.start, s.start + s.count));
    const started = process.hrtime.bigint();
    try {
      const results = await this.#run(key, items, batch.controller.signal);
      if (results.length !== items.length)
        throw new SluiceError(
          "MODEL_BAD_RESPONSE",
          `backend returned ${results.length} results for ${items.length} items`,
        );
      const took = process.hrtime.bigint() - started;
      this.#hooks.onBatch?.(items.length, Number(took) / 1e9);
      let offset = 0;
      for (const { call, start, count } of segments) {
        for (let i = 0; i < count; i++) call.results[start + i] = results[offset + i]!;
        offset += count;
        call.inference += took;
        call.remaining -= count;
        if (call.remaining === 0 && !call.settled) {
          call.settled = true;
          call.detach();
          call.resolve({
            results: call.results,
            queueTimeNs: (call.firstBatched ?? started) - call.arrived,
            inferenceTimeNs: call.inference,
          });
        }
      }
    } catch (err) {
      for (const { call } of segments) this.#fail(call, err);
    } finally {
      for (const { call } of segments) call.running.delete(batch);
      this.#running--;
      this.#pump();
    }
  }
}

function checkOptions(o: Required<Omit<BatchQueueOptions, "closedMessage">>): void {
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  const atLeastZero = (v: number) => typeof v === "number" && v >= 0;
  const bad: string[] = [];
  if (!positiveInt(o.maxBatchItems)) bad.push(`maxBatchItems must be a positive integer, got ${o.maxBatchItems}`);
  if (!positiveInt(o.concurrency)) bad.push(`concurrency must be a positive integer, got ${o.concurrency}`);
  if (!(positiveInt(o.maxQueuedItems) || o.maxQueuedItems === Number.POSITIVE_INFINITY))
    bad.push(`maxQueuedItems must be a positive integer, got ${o.maxQueuedItems}`);
  if (!atLeastZero(o.maxWaitMs)) bad.push(`maxWaitMs must be a number ≥ 0, got ${o.maxWaitMs}`);
  if (!atLeastZero(o.maxBatchWeight)) bad.push(`maxBatchWeight must be a number ≥ 0, got ${o.maxBatchWeight}`);
  if (bad.length > 0) throw new SluiceError("CONFIG_INVALID", `batch queue: ${bad.join("; ")}`);
}
