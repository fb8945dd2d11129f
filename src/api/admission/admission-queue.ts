import { SluiceError } from "../../contracts/errors.ts";

/**
 * Limits of an {@link AdmissionQueue}.
 *
 * @example
 * const limits: AdmissionLimits = { maxConcurrent: 8, maxQueued: 256, queueTimeoutMs: 1_000 };
 */
export interface AdmissionLimits {
  /** Calls running at once; the others wait their turn. */
  maxConcurrent: number;
  /** Calls waiting, over all keys; one more is refused at once. */
  maxQueued: number;
  /** The longest a call waits for its turn; then it is refused (it never starts late). */
  queueTimeoutMs: number;
}

/** Why a call was refused: the queue was full when it came, or its turn did not come in time. */
export type AdmissionRefusal = "full" | "timeout";

/** What an {@link AdmissionQueue} reports, for metrics. */
export interface AdmissionHooks {
  /** A call started, after waiting `waitMs` (0 when a slot was free). */
  onAdmitted?: (waitMs: number) => void;
  onRefused?: (reason: AdmissionRefusal) => void;
}

interface Waiter {
  key: string;
  queuedAt: number;
  start: () => void;
  timer: NodeJS.Timeout;
}

/**
 * Admission control with a bounded queue and a deadline, fair across keys (tenants): at most
 * `maxConcurrent` calls run; others wait in a FIFO per key, and a freed slot goes to the keys in
 * turn (round robin), so one tenant's burst of a thousand queries delays another tenant's query by
 * at most one call per busy tenant. A call that finds `maxQueued` waiting, or that waits
 * `queueTimeoutMs` without starting, is refused at once with `OVERLOADED` (HTTP 503 with
 * `Retry-After`): a client learns in a second that the server is saturated, instead of waiting
 * eleven for an answer it may no longer want.
 *
 * @example
 * const admission = new AdmissionQueue({ maxConcurrent: 8, maxQueued: 256, queueTimeoutMs: 1_000 });
 * const response = await admission.run(tenant, () => sluice.query(request));
 */
export class AdmissionQueue {
  readonly limits: AdmissionLimits;
  readonly #hooks: AdmissionHooks;
  #running = 0;
  #queued = 0;
  /** Waiting calls by key; a key is present only while it has some, in the order keys are served. */
  readonly #waiting = new Map<string, Waiter[]>();

  constructor(limits: AdmissionLimits, hooks: AdmissionHooks = {}) {
    for (const [name, value] of Object.entries(limits)) {
      const min = name === "maxConcurrent" ? 1 : 0;
      if (!Number.isInteger(value) || value < min)
        throw new RangeError(`admission ${name} must be a whole number of at least ${min}, got ${value}`);
    }
    this.limits = { ...limits };
    this.#hooks = hooks;
  }

  /** Calls running now. */
  get running(): number {
    return this.#running;
  }

  /** Calls waiting now. */
  get queued(): number {
    return this.#queued;
  }

  /**
   * Runs `fn` once a slot is free; rejects with `OVERLOADED` if none frees up in time (then `fn`
   * never runs). What `fn` throws is passed on.
   */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    if (this.#running < this.limits.maxConcurrent && this.#queued === 0) {
      this.#running++;
      this.#hooks.onAdmitted?.(0);
    } else {
      await this.#wait(key);
    }
    try {
      return await fn();
    } finally {
      this.#running--;
      this.#next();
    }
  }

  #wait(key: string): Promise<void> {
    const { maxQueued, queueTimeoutMs } = this.limits;
    if (this.#queued >= maxQueued) return Promise.reject(this.#refuse("full"));
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        key,
        queuedAt: performance.now(),
        start: resolve,
        timer: setTimeout(() => {
          this.#remove(waiter);
          reject(this.#refuse("timeout"));
        }, queueTimeoutMs),
      };
      const line = this.#waiting.get(key);
      if (line) line.push(waiter);
      else this.#waiting.set(key, [waiter]);
      this.#queued++;
    });
  }

  /** Gives free slots to waiting calls, one key after another. */
  #next(): void {
    while (this.#running < this.limits.maxConcurrent && this.#queued > 0) {
      // The first key in the map is the one whose turn it is; served, it goes to the back.
      const [key, line] = this.#waiting.entries().next().value!;
      const waiter = line.shift()!;
      this.#waiting.delete(key);
      if (line.length > 0) this.#waiting.set(key, line);
      this.#queued--;
      clearTimeout(waiter.timer);
      this.#running++;
      this.#hooks.onAdmitted?.(performance.now() - waiter.queuedAt);
      waiter.start();
    }
  }

  #remove(waiter: Waiter): void {
    const line = this.#waiting.get(waiter.key);
    const at = line?.indexOf(waiter) ?? -1;
    if (!line || at < 0) return;
    line.splice(at, 1);
    if (line.length === 0) this.#waiting.delete(waiter.key);
    this.#queued--;
  }

  #refuse(reason: AdmissionRefusal): SluiceError {
    this.#hooks.onRefused?.(reason);
    const { maxConcurrent, maxQueued, queueTimeoutMs } = this.limits;
    const message =
      reason === "full"
        ? `the server is saturated: ${maxConcurrent} queries running and ${maxQueued} waiting; retry after a moment`
        : `the server is saturated: this query waited ${queueTimeoutMs} ms without a free slot (${maxConcurrent} running); retry after a moment`;
    return new SluiceError("OVERLOADED", message, {
      details: { reason, retryAfterSeconds: Math.max(1, Math.ceil(queueTimeoutMs / 1000)) },
    });
  }
}
