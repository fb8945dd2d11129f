import { SluiceError } from "../../contracts/errors.ts";
import type { RedisSettings } from "../../db/redis/open-redis.ts";
import {
  DEFAULT_LANE_WEIGHTS,
  type AdmittedDocument,
  type DeadLetter,
  type Dispatchable,
  type DocumentOutcome,
  type Lane,
  type Lease,
  type LeaseOptions,
  type QueueStats,
  type Recovered,
  type RecordQueue,
  type ReleaseOptions,
  type WaitOptions,
  type WorkQueue,
} from "../work-queue.ts";
import { DispatchUpkeep } from "./dispatch-upkeep.ts";
import { LaneTokens, type Token } from "./lane-tokens.ts";

/**
 * Where Redis is, and how patiently it is dealt with. Only `redis` is required.
 *
 * @example
 * const options: BullmqWorkQueueOptions = {
 *   redis: redisSettings(config)!,
 *   onError: (e) => logger.warn({ err: e }, "Redis unreachable; leasing from the database"),
 * };
 */
export interface BullmqWorkQueueOptions {
  /**
   * The shared Redis. BullMQ's keys live under `<keyPrefix>lane-<lane>:`, the epoch marker at
   * `<keyPrefix>dispatch:epoch`.
   */
  redis: RedisSettings;
  /** How long `open()`, and each later reconnect attempt, waits for Redis. Default 1.5 s. */
  connectTimeoutMs?: number;
  /** How long one call to Redis may take before Redis counts as down. Default 2 s. */
  commandTimeoutMs?: number;
  /** How often leasing checks the epoch marker (and, while Redis is down, tries to reconnect). Default 1 s. */
  epochCheckMs?: number;
  /** How often leasing sweeps a page for orphaned records, and tops up from the record queue. Default 5 s. */
  sweepIntervalMs?: number;
  /** Records per sweep page. Default 1000. */
  pageSize?: number;
  /**
   * Told once each time Redis becomes unreachable (work then goes on through the record queue).
   * Nothing else is logged.
   */
  onError?: (error: Error) => void;
}

/** Leased records whose lanes are remembered (for their release and wait tokens); older ones are forgotten first. */
const LANE_MEMORY = 100_000;
/** Jobs whose last offered seq is remembered, so each admit batch offers only its new records. */
const ADMIT_MEMORY = 256;

const forgetOldest = <K, V>(map: Map<K, V>, limit: number): void => {
  while (map.size > limit) map.delete(map.keys().next().value!);
};

/**
 * A work queue that dispatches through BullMQ on Redis, across machines, over a durable record
 * queue (SQLite or PostgreSQL) that stays the system of record. Redis holds only tokens ("look at
 * record seq N", one per record); the record queue decides, by claiming exactly the records whose
 * tokens a lease took, so a stale or duplicate token does no harm, and Redis may lose everything
 * (it keeps nothing on disk) without losing an accepted document:
 *
 * - `admit` is durable once the record queue has it; tokens follow, and when Redis is down they
 *   are left to the rebuild.
 * - An epoch marker, checked about every second while leasing, shows when Redis came back empty:
 *   every token is then rebuilt from the record queue, and until that is done leases come from
 *   the record queue directly (it leases lane-fairly itself). So they do while Redis is down.
 * - A slow periodic sweep re-offers tokens for orphans (a process died between its SQL commit and
 *   its Redis write) and reaps tokens a dead process took and never settled; now and then a lease
 *   is topped up from the record queue, which also ends due waits.
 *
 * Suspects and a single job's foreground drain (`lease` with `suspects: "only"` or `jobId`) are
 * always leased from the record queue. The queue owns `records`: `open()` and `close()` open and
 * close it too.
 *
 * @example
 * const queue = new BullmqWorkQueue(sqliteQueue, { redis: { url: "redis://127.0.0.1:6379", keyPrefix: "sluice:" } });
 * await queue.open();
 * await queue.admit(job.id, documents);
 * const leases = await queue.lease("host:42:ab", 16, 30_000);
 */
export class BullmqWorkQueue implements WorkQueue {
  readonly records: RecordQueue;
  readonly #o: Required<Omit<BullmqWorkQueueOptions, "onError" | "redis">> & {
    url: string;
    prefix: string;
    onError: (error: Error) => void;
  };
  #tokens: LaneTokens | null = null;
  #upkeep: DispatchUpkeep | null = null;
  /** When a lease is next topped up from the record queue (see {@link lease}). */
  #topUpDue = 0;
  readonly #lanes = new Map<number, Lane>();
  readonly #admitted = new Map<string, number>();

  constructor(records: RecordQueue, options: BullmqWorkQueueOptions) {
    const prefix = options.redis.keyPrefix.replace(/:+$/, "");
    if (!prefix)
      throw new SluiceError(
        "CONFIG_INVALID",
        "queue: bullmq needs a redis.keyPrefix (such as sluice:) for BullMQ's keys",
      );
    this.records = records;
    this.#o = {
      connectTimeoutMs: options.connectTimeoutMs ?? 1_500,
      commandTimeoutMs: options.commandTimeoutMs ?? 2_000,
      epochCheckMs: options.epochCheckMs ?? 1_000,
      sweepIntervalMs: options.sweepIntervalMs ?? 5_000,
      pageSize: options.pageSize ?? 1_000,
      url: options.redis.url,
      prefix,
      onError: options.onError ?? (() => undefined),
    };
  }

  /** Whether leases come through BullMQ now (Redis up, and not rebuilding after it lost its keys). */
  get dispatching(): boolean {
    return this.#upkeep?.dispatching ?? false;
  }

  /** Opens the record queue, then connects to Redis (waiting at most `connectTimeoutMs`; work goes on without it). */
  async open(): Promise<void> {
    if (this.#tokens) return;
    await this.records.open();
    const { url, prefix, connectTimeoutMs, commandTimeoutMs, epochCheckMs, sweepIntervalMs, pageSize, onError } =
      this.#o;
    this.#tokens = new LaneTokens({ url, prefix, connectTimeoutMs, commandTimeoutMs });
    this.#upkeep = new DispatchUpkeep(this.records, this.#tokens, { epochCheckMs, sweepIntervalMs, pageSize, onError });
    this.#topUpDue = 0;
    await this.#upkeep.kick();
  }

  /** Closes BullMQ's queues and connection, then the record queue. */
  async close(): Promise<void> {
    const tokens = this.#tokens;
    if (!tokens) return;
    await this.#upkeep?.stop();
    this.#tokens = null;
    this.#upkeep = null;
    await tokens.close();
    await this.records.close();
  }

  /**
   * Offers tokens for one page of dispatchable records from a cursor that wraps around; returns
   * how many. Leasing runs it every `sweepIntervalMs`; sweeps from several processes are harmless.
   */
  async sweep(): Promise<number> {
    return (await this.#upkeep?.sweep()) ?? 0;
  }

  /** Offers a token for every dispatchable record, page by page; resolves true once done (false: Redis is down). */
  async rebuild(): Promise<boolean> {
    return (await this.#upkeep?.rebuild()) ?? false;
  }

  #lost(error: unknown): void {
    this.#upkeep?.lost(error);
  }

  /** Adds tokens; while Redis is down they are left to the rebuild that follows its return. */
  async #offer(records: readonly Dispatchable[], options: { replace?: boolean; until?: boolean } = {}): Promise<void> {
    const [tokens, upkeep] = [this.#tokens, this.#upkeep];
    if (records.length === 0 || !tokens || !upkeep || upkeep.health === "closed") return;
    if (upkeep.health === "down") {
      void upkeep.kick();
      return;
    }
    try {
      await tokens.offer(records, options);
    } catch (error) {
      this.#lost(error);
    }
  }

  /** Offers tokens for a job's dispatchable records after `afterSeq`; returns the last seq seen. */
  async #offerJob(jobId: string, afterSeq: number): Promise<number> {
    let after = afterSeq;
    for (;;) {
      const page = await this.records.dispatchable({ jobId, afterSeq: after, limit: this.#o.pageSize });
      await this.#offer(page);
      if (page.length > 0) after = page[page.length - 1]!.seq;
      if (page.length < this.#o.pageSize) return after;
    }
  }

  #remember(leases: Lease[]): Lease[] {
    for (const l of leases) this.#lanes.set(l.seq, l.lane);
    forgetOldest(this.#lanes, LANE_MEMORY);
    return leases;
  }

  #forget(seq: number): Lane | undefined {
    const lane = this.#lanes.get(seq);
    this.#lanes.delete(seq);
    return lane;
  }

  async admit(jobId: string, documents: AdmittedDocument[]): Promise<void> {
    // Durable here: this is the "yes". The tokens are an optimisation the sweeps can redo.
    await this.records.admit(jobId, documents);
    const upkeep = this.#upkeep;
    if (documents.length === 0 || !upkeep || upkeep.health === "closed") return;
    if (upkeep.health === "down") {
      // Left to the rebuild that follows Redis's return; this process may not lease, so it reconnects here.
      void upkeep.kick();
      return;
    }
    try {
      this.#admitted.set(jobId, await this.#offerJob(jobId, this.#admitted.get(jobId) ?? 0));
      forgetOldest(this.#admitted, ADMIT_MEMORY);
    } catch (error) {
      // The documents are accepted; their tokens come with the next sweep.
      this.#o.onError(error instanceof Error ? error : new Error(String(error)));
    }
  }

  async lease(owner: string, max: number, leaseMs: number, options: LeaseOptions = {}): Promise<Lease[]> {
    if (max <= 0) return [];
    // Suspects run alone and are never dispatched; a foreground drain wants exactly its job's records.
    if (options.suspects === "only" || options.jobId !== undefined)
      return this.#remember(await this.records.lease(owner, max, leaseMs, options));
    void this.#upkeep?.kick();
    const tokens = this.#tokens;
    if (!tokens || !this.dispatching) return this.#remember(await this.records.lease(owner, max, leaseMs, options));
    let taken: Token[];
    try {
      taken = await tokens.take(max, options.weights ?? DEFAULT_LANE_WEIGHTS);
    } catch (error) {
      this.#lost(error);
      return this.#remember(await this.records.lease(owner, max, leaseMs, options));
    }
    let leases: Lease[] = [];
    if (taken.length > 0) {
      try {
        leases = await this.records.claim(
          owner,
          taken.map((t) => t.seq),
          leaseMs,
          options.now,
        );
      } finally {
        // Every taken token leaves Redis: claimed, its record is leased; not, it was stale.
        await tokens.settle(taken).catch((error: unknown) => this.#lost(error));
      }
    }
    const claimed = new Set(leases.map((l) => l.seq));
    const stale = taken.filter((t) => !claimed.has(t.seq));
    // Now and then the record queue tops the lease up: that ends due waits (a timed wait's record
    // stays WAITING until it does) and leases records whose tokens were lost before a sweep finds them.
    const wake = stale.some((t) => t.until);
    if (
      leases.length < max &&
      (wake || Date.now() >= this.#topUpDue || (options.now !== undefined && leases.length === 0))
    ) {
      this.#topUpDue = Date.now() + this.#o.sweepIntervalMs;
      leases.push(...(await this.records.lease(owner, max - leases.length, leaseMs, options)));
    }
    if (stale.length > 0) await this.#reoffer(stale);
    return this.#remember(leases);
  }

  /**
   * Tokens whose records could not be claimed: a record not due yet (its token came early, or a
   * release moved its time) gets a token for its time, a woken wait a token for now; the others
   * were leased, retired or taken by another process, and need none.
   */
  async #reoffer(stale: readonly Token[]): Promise<void> {
    const woken = new Set(stale.filter((t) => t.until).map((t) => t.seq));
    const pending = await this.records.dispatchable({ seqs: stale.map((t) => t.seq), limit: stale.length });
    const now = Date.now();
    await this.#offer(pending.filter((d) => d.notBefore > now || woken.has(d.seq)));
  }

  async renew(owner: string, seqs: readonly number[], leaseMs: number): Promise<number[]> {
    const lost = await this.records.renew(owner, seqs, leaseMs);
    for (const seq of lost) this.#lanes.delete(seq);
    return lost;
  }

  async isolate(owner: string, seq: number): Promise<void> {
    await this.records.isolate(owner, seq);
  }

  async complete(outcomes: DocumentOutcome[]): Promise<void> {
    await this.records.complete(outcomes);
    for (const o of outcomes) this.#lanes.delete(o.seq);
  }

  async deadLetter(outcomes: DocumentOutcome[]): Promise<void> {
    await this.records.deadLetter(outcomes);
    for (const o of outcomes) this.#lanes.delete(o.seq);
  }

  async release(seq: number, options: ReleaseOptions): Promise<void> {
    const lane = this.#forget(seq);
    await this.records.release(seq, options);
    const token = lane
      ? [{ seq, lane, notBefore: options.notBefore }]
      : await this.records.dispatchable({ seqs: [seq], limit: 1 });
    await this.#offer(token, { replace: true });
  }

  async wait(seq: number, options: WaitOptions): Promise<void> {
    // A waiting record is not dispatchable, so its lane is known only from its lease; fairness is all a guess costs.
    const lane = this.#forget(seq) ?? "normal";
    await this.records.wait(seq, options);
    if (options.until !== undefined)
      await this.#offer([{ seq, lane, notBefore: options.until }], { replace: true, until: true });
  }

  async signal(condition: string): Promise<number> {
    const woken = await this.records.wake(condition);
    await this.#offer(woken, { replace: true });
    return woken.length;
  }

  /** Suspects are leased from the record queue directly, so recovering them dispatches nothing. */
  async recover(isAlive: (owner: string) => boolean, now?: number): Promise<Recovered> {
    return this.records.recover(isAlive, now);
  }

  async cancelJob(jobId: string): Promise<number> {
    return this.records.cancelJob(jobId);
  }

  async requeueJob(jobId: string): Promise<number> {
    const n = await this.records.requeueJob(jobId);
    if (n > 0) await this.#offerJob(jobId, 0);
    return n;
  }

  async liveCount(jobId: string): Promise<number> {
    return this.records.liveCount(jobId);
  }

  async stats(now?: number): Promise<QueueStats> {
    return this.records.stats(now);
  }

  async deadLetters(limit?: number): Promise<DeadLetter[]> {
    return this.records.deadLetters(limit);
  }

  async retryDeadLetter(seq: number): Promise<{ jobId: string; docId: string } | null> {
    const retried = await this.records.retryDeadLetter(seq);
    if (retried) await this.#offer(await this.records.dispatchable({ seqs: [seq], limit: 1 }), { replace: true });
    return retried;
  }

  async dropDeadLetter(seq: number): Promise<boolean> {
    return this.records.dropDeadLetter(seq);
  }

  async compact(): Promise<number> {
    return this.records.compact();
  }
}
