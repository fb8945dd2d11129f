import { randomBytes } from "node:crypto";
import type { RecordQueue } from "../work-queue.ts";
import { DispatchSweep } from "./dispatch-sweep.ts";
import type { LaneTokens } from "./lane-tokens.ts";

/**
 * Where dispatch stands. `down`: Redis is unreachable, or was and is not known to be back.
 *
 * @example
 * if (upkeep.health === "down") await records.lease(owner, max, leaseMs);
 */
export type DispatchHealth = "closed" | "up" | "down";

/**
 * How often upkeep runs, and whom it tells about outages.
 *
 * @example
 * const options: DispatchUpkeepOptions = {
 *   epochCheckMs: 1_000,
 *   sweepIntervalMs: 5_000,
 *   pageSize: 1_000,
 *   onError: (e) => logger.warn(e),
 * };
 */
export interface DispatchUpkeepOptions {
  /** How often the epoch marker is checked, and, while Redis is down, a reconnect tried. */
  epochCheckMs: number;
  /** How often a page is swept for orphans and dead processes' tokens are reaped. */
  sweepIntervalMs: number;
  pageSize: number;
  /** Told once each time Redis becomes unreachable. */
  onError: (error: Error) => void;
}

/**
 * Keeps BullMQ's tokens in step with the record queue, driven by the queue's calls (no timers):
 * reconnects after an outage, checks the epoch marker, rebuilds every token when Redis lost its
 * keys or was out of reach, and sweeps for orphans now and then. One maintenance run at a time;
 * a rebuild goes on page by page in the background until it is done.
 *
 * @example
 * const upkeep = new DispatchUpkeep(records, tokens, {
 *   epochCheckMs: 1_000,
 *   sweepIntervalMs: 5_000,
 *   pageSize: 1_000,
 *   onError,
 * });
 * await upkeep.kick(); // connects, reads the epoch, starts the rebuild
 * if (upkeep.dispatching) await tokens.take(16, weights);
 */
export class DispatchUpkeep {
  readonly #records: RecordQueue;
  readonly #tokens: LaneTokens;
  readonly #o: DispatchUpkeepOptions;
  #health: DispatchHealth = "down";
  /** Reported that Redis is down since it was last up. */
  #reported = false;
  #epoch: string | null = null;
  /** `complete`: Redis lost its tokens, so BullMQ is not used until they are all back. */
  #rebuild: { sweep: DispatchSweep; complete: boolean } | null = null;
  readonly #orphans: DispatchSweep;
  #chore: Promise<void> | null = null;
  #due: { probe: number; epoch: number; sweep: number };

  constructor(records: RecordQueue, tokens: LaneTokens, options: DispatchUpkeepOptions) {
    this.#records = records;
    this.#tokens = tokens;
    this.#o = options;
    this.#orphans = new DispatchSweep(records, tokens, options.pageSize);
    // Nothing is an orphan right after a start: the first rebuild covers every record.
    this.#due = { probe: 0, epoch: 0, sweep: Date.now() + options.sweepIntervalMs };
  }

  get health(): DispatchHealth {
    return this.#health;
  }

  /** Whether leases may come through BullMQ now (Redis up, and not rebuilding after it lost its keys). */
  get dispatching(): boolean {
    return this.#health === "up" && !this.#rebuild?.complete;
  }

  /** Stops maintenance, waiting for a run in progress. */
  async stop(): Promise<void> {
    this.#health = "closed";
    this.#rebuild = null;
    while (this.#chore) await this.#chore;
  }

  /** A call to Redis failed: Redis counts as down until a reconnect succeeds (and a rebuild follows). */
  lost(error: unknown): void {
    if (this.#health === "closed") return;
    this.#health = "down";
    this.#rebuild = null;
    this.#due.probe = Date.now() + this.#o.epochCheckMs;
    if (this.#reported) return;
    this.#reported = true;
    this.#o.onError(error instanceof Error ? error : new Error(String(error)));
  }

  /** Runs the maintenance that is due (none may be); never rejects. */
  kick(): Promise<void> {
    this.#chore ??= this.#maintain().finally(() => {
      this.#chore = null;
      if (this.#rebuild && this.#health === "up") void this.kick();
    });
    return this.#chore;
  }

  /** One page of the orphan sweep now; returns how many records it offered. */
  async sweep(): Promise<number> {
    if (this.#health !== "up") return 0;
    try {
      return (await this.#orphans.page()).offered;
    } catch (error) {
      this.lost(error);
      return 0;
    }
  }

  /** A full rebuild now; resolves true once done (false: Redis is down). */
  async rebuild(): Promise<boolean> {
    if (this.#health === "up") this.#startRebuild(false);
    while (this.#rebuild && this.#health === "up") await this.kick();
    return this.#health === "up";
  }

  #startRebuild(complete: boolean): void {
    this.#rebuild = {
      sweep: new DispatchSweep(this.#records, this.#tokens, this.#o.pageSize),
      complete: complete || (this.#rebuild?.complete ?? false),
    };
  }

  async #maintain(): Promise<void> {
    if (this.#health === "closed") return;
    const now = Date.now();
    try {
      if (this.#health === "down") {
        if (now < this.#due.probe) return;
        this.#due.probe = now + this.#o.epochCheckMs;
        await this.#tokens.connect();
        // stop() may have come while connecting.
        if (this.health === "closed") return;
        this.#health = "up";
        this.#reported = false;
        // What was admitted or released while Redis was out of reach has no token yet.
        this.#startRebuild(false);
        this.#due.epoch = 0;
      }
      if (now >= this.#due.epoch) {
        this.#due.epoch = now + this.#o.epochCheckMs;
        const fresh = randomBytes(8).toString("hex");
        const seen = await this.#tokens.epoch(fresh);
        // A marker other than the last one seen, or one just made, means Redis lost its keys.
        if (seen !== this.#epoch) this.#startRebuild(this.#epoch !== null || seen === fresh);
        this.#epoch = seen;
      }
      if (this.#rebuild) {
        if ((await this.#rebuild.sweep.page()).wrapped) this.#rebuild = null;
        return;
      }
      if (now >= this.#due.sweep) {
        this.#due.sweep = now + this.#o.sweepIntervalMs;
        await this.#orphans.page();
        await this.#tokens.reap();
      }
    } catch (error) {
      this.lost(error);
    }
  }
}
