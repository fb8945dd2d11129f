/**
 * An in-flight window that a model server can narrow: RESOURCE_EXHAUSTED halves it (at least 1),
 * every success widens it by 1/window up to `max` (additive increase, multiplicative decrease, as
 * TCP does). Callers wait in order for a slot; an aborted wait leaves the queue. This is the
 * backpressure a stage feels when its model server is full, on top of the retry's backoff.
 *
 * @example
 * const limit = new AdaptiveLimit(8);
 * const release = await limit.acquire(signal);
 * try {
 *   reply = await call();
 *   release("ok");
 * } catch (err) {
 *   release(isOverloaded(err) ? "overloaded" : "error");
 *   throw err;
 * }
 */
export class AdaptiveLimit {
  readonly max: number;
  #window: number;
  #inFlight = 0;
  readonly #waiting: Array<{
    resolve: () => void;
    reject: (err: unknown) => void;
    signal: AbortSignal | undefined;
    onAbort: () => void;
  }> = [];

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1)
      throw new RangeError(`AdaptiveLimit: max must be a positive integer, got ${max}`);
    this.max = max;
    this.#window = max;
  }

  /** Calls allowed in flight now (the window, rounded down). */
  get window(): number {
    return Math.max(1, Math.floor(this.#window));
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Calls waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  async acquire(signal?: AbortSignal): Promise<(outcome: "ok" | "overloaded" | "error") => void> {
    signal?.throwIfAborted();
    if (this.#inFlight < this.window && this.#waiting.length === 0) this.#inFlight++;
    else {
      // #wake counts the slot for us before it resolves, so a burst of releases cannot overfill the window.
      await new Promise<void>((resolve, reject) => {
        const entry = {
          resolve,
          reject,
          signal,
          onAbort: () => {
            const i = this.#waiting.indexOf(entry);
            if (i >= 0) this.#waiting.splice(i, 1);
            reject(signal?.reason as Error);
          },
        };
        signal?.addEventListener("abort", entry.onAbort, { once: true });
        this.#waiting.push(entry);
      });
    }
    let released = false;
    return (outcome) => {
      if (released) return;
      released = true;
      this.#inFlight--;
      if (outcome === "overloaded") this.#window = Math.max(1, this.#window / 2);
      else if (outcome === "ok") this.#window = Math.min(this.max, this.#window + 1 / this.#window);
      this.#wake();
    };
  }

  #wake(): void {
    while (this.#waiting.length > 0 && this.#inFlight < this.window) {
      const next = this.#waiting.shift()!;
      next.signal?.removeEventListener("abort", next.onAbort);
      this.#inFlight++;
      next.resolve();
    }
  }
}
