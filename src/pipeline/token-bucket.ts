import { SluiceError } from "../contracts/errors.ts";

/**
 * `perSecond` calls on average, up to `burst` at once after a quiet spell.
 *
 * @example
 * const limit: TokenBucketOptions = { perSecond: 10, burst: 10 };
 */
export interface TokenBucketOptions {
  perSecond: number;
  /** Calls allowed back to back after a quiet spell (default 1: evenly spaced). */
  burst?: number;
  /** Clock and sleep, for tests. */
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/**
 * Waits `ms`; an abort rejects at once with the signal's reason (not an AbortError wrapping it).
 *
 * @example
 * await abortableSleep(500, signal);
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A token bucket kept as a theoretical arrival time (GCRA): each call reserves the next slot, so
 * waiting callers are served in order and never more than `burst` run back to back. Shared by
 * everything that talks to one host or runs one rate-limited stage.
 *
 * @example
 * const bucket = new TokenBucket({ perSecond: 3 }); // NCBI E-utilities without a key
 * await bucket.take(signal);
 * await fetch(url, { signal });
 */
export class TokenBucket {
  readonly #interval: number;
  readonly #burst: number;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** When the next call could run if no burst were allowed. */
  #tat = Number.NEGATIVE_INFINITY;

  constructor(options: TokenBucketOptions) {
    if (!(options.perSecond > 0) || !Number.isFinite(options.perSecond)) {
      throw new SluiceError(
        "CONFIG_INVALID",
        `rate limit: perSecond must be a positive number, got ${options.perSecond}`,
      );
    }
    const burst = options.burst ?? 1;
    if (!Number.isInteger(burst) || burst < 1) {
      throw new SluiceError("CONFIG_INVALID", `rate limit: burst must be a whole number of at least 1, got ${burst}`);
    }
    this.#interval = 1000 / options.perSecond;
    this.#burst = burst;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? abortableSleep;
  }

  /** Reserves the next slot and returns how long to wait for it (0: now). */
  reserve(): number {
    const now = this.#now();
    const start = Math.max(this.#tat, now - (this.#burst - 1) * this.#interval);
    this.#tat = start + this.#interval;
    return Math.max(0, start - now);
  }

  /** Waits for a slot; an abort while waiting rejects with the signal's reason. */
  async take(signal?: AbortSignal): Promise<void> {
    signal?.throwIfAborted();
    const wait = this.reserve();
    if (wait > 0) await this.#sleep(wait, signal);
  }
}
