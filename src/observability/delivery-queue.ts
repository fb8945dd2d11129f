import { toSluiceError, type SluiceError } from "../contracts/errors.ts";

export interface DeliveryStats {
  /** Items the endpoint accepted. */
  delivered: number;
  /** Items whose delivery failed (refused, timed out, unreachable); they are not retried. */
  failed: number;
  /** Items dropped unsent because the queue was full (the oldest go first) or closed. */
  dropped: number;
  /** Items waiting now, the one in flight included. */
  queued: number;
}

export interface DeliveryQueueOptions<T> {
  /** Named in log lines: `events.http`, `lineage`. */
  name: string;
  /** Items waiting at most; past it the oldest is dropped and counted. */
  maxQueue: number;
  /** Sends one item; throws on failure. The signal aborts when the queue is closed. */
  send: (item: T, signal: AbortSignal) => Promise<void>;
  /** Where failures are reported; default: one stderr line per `logIntervalMs` at most. */
  log?: (line: string) => void;
  logIntervalMs?: number;
}

/**
 * A bounded, in-memory, one-at-a-time delivery queue for sinks that must never slow the
 * pipeline down or grow memory without limit. `push` never blocks and never throws: past
 * `maxQueue` the oldest waiting item is dropped (and counted), so a slow or dead endpoint costs
 * at most `maxQueue` items of memory. One item is in flight at a time, so items arrive in the
 * order they were pushed. Failed items are counted and logged (throttled), not retried: events
 * describe the pipeline, and a retry storm against a sick collector would not help it.
 *
 * @example
 * const q = new DeliveryQueue({ name: "events.http", maxQueue: 10_000, send: (ce, signal) => post(ce, signal) });
 * q.push(event);
 * await q.close(2_000);
 */
export class DeliveryQueue<T> {
  readonly #o: DeliveryQueueOptions<T>;
  readonly #items: T[] = [];
  readonly #abort = new AbortController();
  #pump: Promise<void> | null = null;
  #closed = false;
  #delivered = 0;
  #failed = 0;
  #dropped = 0;
  #inFlight = 0;
  #lastLog = 0;
  #unlogged = 0;

  constructor(options: DeliveryQueueOptions<T>) {
    this.#o = options;
  }

  push(item: T): void {
    if (this.#closed) {
      this.#dropped++;
      return;
    }
    this.#items.push(item);
    if (this.#items.length > this.#o.maxQueue) {
      this.#items.shift();
      this.#dropped++;
      this.#report(null, "queue full, dropped the oldest event");
    }
    this.#pump ??= this.#drain().finally(() => (this.#pump = null));
  }

  stats(): DeliveryStats {
    return {
      delivered: this.#delivered,
      failed: this.#failed,
      dropped: this.#dropped,
      queued: this.#items.length + this.#inFlight,
    };
  }

  /**
   * Stops taking items, waits up to `timeoutMs` for the queue to empty, then aborts the request
   * in flight and drops what is left (counted as dropped).
   */
  async close(timeoutMs: number): Promise<void> {
    this.#closed = true;
    const pump = this.#pump;
    if (pump) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([pump, timeout]);
      clearTimeout(timer);
    }
    this.#dropped += this.#items.length;
    this.#items.length = 0;
    this.#abort.abort();
    await pump;
  }

  async #drain(): Promise<void> {
    for (let item = this.#items.shift(); item !== undefined; item = this.#items.shift()) {
      if (this.#abort.signal.aborted) {
        this.#dropped++;
        continue;
      }
      this.#inFlight = 1;
      try {
        await this.#o.send(item, this.#abort.signal);
        this.#delivered++;
      } catch (err) {
        this.#failed++;
        this.#report(toSluiceError(err, "EVENT_DELIVERY_FAILED"), "delivery failed");
      } finally {
        this.#inFlight = 0;
      }
    }
  }

  /** One line per interval at most, with what was suppressed since the last one. */
  #report(err: SluiceError | null, what: string): void {
    const now = Date.now();
    if (now - this.#lastLog < (this.#o.logIntervalMs ?? 30_000)) {
      this.#unlogged++;
      return;
    }
    this.#lastLog = now;
    const more = this.#unlogged > 0 ? ` (+${this.#unlogged} more reports suppressed)` : "";
    this.#unlogged = 0;
    const s = this.stats();
    const line = `sluice: ${this.#o.name}: ${what}${err ? `: ${err.code}: ${err.message}` : ""}; delivered ${s.delivered}, failed ${s.failed}, dropped ${s.dropped}${more}`;
    (this.#o.log ?? ((l: string) => process.stderr.write(`${l}\n`)))(line);
  }
}
