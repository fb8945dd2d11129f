import type { RateLimitDecision, RateLimitStore } from "../rate-limit-store.ts";

interface Window {
  /** Times (ms) of the counted requests still in the window, oldest first. */
  hits: number[];
  windowMs: number;
}

/** Hits between sweeps of keys whose window has passed. */
const SWEEP_EVERY = 1_000;

/**
 * Rate limits in this process's memory: right for one server. Each `hit` runs to completion
 * without awaiting anything, so it is atomic on Node's single thread. Keys whose window has
 * passed are swept now and then, so memory stays bounded by the clients seen in one window.
 *
 * @example
 * const store = new MemoryRateLimitStore();
 * const { allowed } = await store.hit("answer:ip:127.0.0.1", 10, 60_000);
 */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #windows = new Map<string, Window>();
  readonly #now: () => number;
  #sinceSweep = 0;

  /** `now` is the clock (tests); default `Date.now`. */
  constructor(options: { now?: () => number } = {}) {
    this.#now = options.now ?? Date.now;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const now = this.#now();
    if (++this.#sinceSweep >= SWEEP_EVERY) this.#sweep(now);
    let window = this.#windows.get(key);
    if (!window) this.#windows.set(key, (window = { hits: [], windowMs }));
    window.windowMs = windowMs;
    // The window is (now - windowMs, now]: a request exactly windowMs old has left it.
    const from = now - windowMs;
    let stale = 0;
    while (stale < window.hits.length && window.hits[stale]! <= from) stale++;
    if (stale > 0) window.hits.splice(0, stale);
    if (window.hits.length < limit) {
      window.hits.push(now);
      return { allowed: true, remaining: limit - window.hits.length, retryAfterMs: 0 };
    }
    return { allowed: false, remaining: 0, retryAfterMs: Math.max(1, window.hits[0]! + windowMs - now) };
  }

  async close(): Promise<void> {
    this.#windows.clear();
  }

  #sweep(now: number): void {
    this.#sinceSweep = 0;
    for (const [key, window] of this.#windows) {
      const last = window.hits[window.hits.length - 1];
      if (last === undefined || last <= now - window.windowMs) this.#windows.delete(key);
    }
  }
}
