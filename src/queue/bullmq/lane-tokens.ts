import { randomBytes } from "node:crypto";
import { Queue, RedisConnection, Worker, type Job, type RedisClient, type RedisOptions } from "bullmq";
import { LANES, type Dispatchable, type Lane } from "../work-queue.ts";

/**
 * What a token carries beyond its record's seq: whether it ends a timed wait (see {@link LaneTokens.take}).
 *
 * @example
 * const data: TokenData = { until: true };
 */
export interface TokenData {
  until?: true;
}

/**
 * A token taken from a lane: "look at record `seq`", held (locked) until it is settled.
 *
 * @example
 * const [token] = await tokens.take(1, DEFAULT_LANE_WEIGHTS);
 * await tokens.settle([token]);
 */
export interface Token {
  seq: number;
  lane: Lane;
  /** The token of a timed wait: its record is still WAITING until the record queue ends due waits. */
  until: boolean;
  job: Job<TokenData, null, Lane>;
  /** The lock BullMQ gave the job when it was taken; settling needs it. */
  lock: string;
}

/**
 * Where the tokens live and how long Redis is waited for.
 *
 * @example
 * const options: LaneTokensOptions = { url: "redis://127.0.0.1:6379", prefix: "sluice", connectTimeoutMs: 1_500, commandTimeoutMs: 2_000 };
 */
export interface LaneTokensOptions {
  /** `redis://[user:password@]host:port[/db]`. */
  url: string;
  /** BullMQ's key prefix (Sluice's key prefix without its trailing colon). */
  prefix: string;
  /** How long {@link LaneTokens.connect} waits for Redis. */
  connectTimeoutMs: number;
  /** How long any one call to Redis may take before it counts as Redis being down. */
  commandTimeoutMs: number;
  /** How long a taken token stays locked; a process that dies holding it frees it after this. */
  lockMs?: number;
}

/**
 * A record's token id. BullMQ refuses integer job ids, hence `rec-<seq>`; one id per record makes
 * duplicate tokens collapse.
 *
 * @example
 * tokenId(42); // "rec-42"
 */
export const tokenId = (seq: number): string => `rec-${seq}`;
const seqOf = (id: string | undefined): number => Number(id?.slice(4));

/**
 * BullMQ scores delayed jobs by timestamp; a cap keeps far-off times sane (an early token is
 * re-offered, see the queue).
 */
const MAX_DELAY_MS = 7 * 24 * 3_600_000;
const delayOf = (notBefore: number): number => Math.min(MAX_DELAY_MS, Math.max(0, notBefore - Date.now()));

/**
 * Read-or-create of the epoch marker, atomically, so every process sharing the Redis agrees on one
 * epoch. KEYS[1]: the marker; ARGV[1]: a fresh epoch, written when the marker is missing. Returns
 * the marker's value after the call: a value other than the one a process last saw means Redis
 * lost its keys (restarted empty) since.
 */
const EPOCH_SCRIPT = `
local current = redis.call("GET", KEYS[1])
if current then return current end
redis.call("SET", KEYS[1], ARGV[1])
return ARGV[1]`;
const EPOCH_COMMAND = "sluiceDispatchEpoch";

/**
 * BullMQ's connection re-emits its client's errors, also after `close()` has removed every
 * listener (a connect attempt that fails late); with no listener an `error` event would crash the
 * process, so one with nobody listening is dropped.
 */
class QuietConnection extends RedisConnection {
  override emit(event: string | symbol, ...args: unknown[]): boolean {
    if (event === "error" && this.listenerCount("error") === 0) return false;
    return super.emit(event, ...args);
  }
}

/**
 * Gives up waiting on `work` after `ms`. The work itself goes on; its late failure is swallowed so
 * it never surfaces as an unhandled rejection.
 *
 * @example
 * await within(queue.addBulk(jobs), 2_000, "adding tokens");
 */
export async function within<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  void work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`Redis: ${what} took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

interface LaneQueue {
  queue: Queue<TokenData, null, Lane>;
  worker: Worker<TokenData, null, Lane>;
}

/**
 * The Redis side of BullMQ dispatch: one BullMQ queue of tokens per lane (`lane-high`,
 * `lane-normal`, `lane-bulk`), jobs named by seq so duplicate tokens collapse, taken with BullMQ's
 * manual processing (a `Worker` without a processor, `getNextJob`) and removed when settled.
 *
 * One client is shared by the three queues and workers (each worker adds the blocking connection
 * BullMQ insists on). Commands fail fast instead of queueing while Redis is unreachable
 * (`enableOfflineQueue: false`), and every call is bounded by `commandTimeoutMs`, so a caller can
 * fall back to the record queue.
 *
 * @example
 * const tokens = new LaneTokens({ url, prefix: "sluice", connectTimeoutMs: 1_500, commandTimeoutMs: 2_000 });
 * await tokens.connect();
 * await tokens.offer([{ seq: 7, lane: "high", notBefore: 0 }]);
 * const taken = await tokens.take(16, DEFAULT_LANE_WEIGHTS);
 * await tokens.settle(taken);
 */
export class LaneTokens {
  readonly #o: Required<LaneTokensOptions>;
  readonly #epochKey: string;
  readonly #nonce = randomBytes(4).toString("hex");
  #locks = 0;
  #root: QuietConnection | null = null;
  #lanes: Map<Lane, LaneQueue> | null = null;

  constructor(options: LaneTokensOptions) {
    this.#o = { lockMs: 30_000, ...options };
    this.#epochKey = `${options.prefix}:dispatch:epoch`;
  }

  /** Waits (up to `connectTimeoutMs`) for Redis, then makes the lane queues the first time. */
  async connect(): Promise<void> {
    if (!this.#root) {
      const connection: RedisOptions = {
        url: this.#o.url,
        // Fail commands at once while disconnected instead of holding them until Redis is back.
        enableOfflineQueue: false,
        maxRetriesPerRequest: null,
        connectTimeout: this.#o.connectTimeoutMs,
        commandTimeout: this.#o.commandTimeoutMs,
        retryStrategy: (attempt: number) => Math.min(attempt * 250, 2_000),
      };
      this.#root = new QuietConnection(connection, {
        shared: false,
        blocking: false,
        skipVersionCheck: true,
        skipWaitingForReady: true,
      });
      // Every failed reconnect is reported here; callers see the failed commands instead.
      this.#root.on("error", () => undefined);
    }
    const client = await this.#root.client;
    await this.#ready(client);
    this.#lanes ??= this.#makeLanes(client);
    // Each worker's own blocking connection must be up too, or taking a token would wait for it.
    const workers = [...this.#lanes.values()].map((l) => l.worker.waitUntilReady());
    await within(Promise.all(workers), this.#o.connectTimeoutMs, "connecting the lane workers");
  }

  #makeLanes(client: RedisClient): Map<Lane, LaneQueue> {
    client.defineCommand(EPOCH_COMMAND, { numberOfKeys: 1, lua: EPOCH_SCRIPT });
    const lanes = new Map<Lane, LaneQueue>();
    for (const lane of LANES) {
      const opts = { connection: client, prefix: this.#o.prefix, skipVersionCheck: true };
      // Nobody reads the event streams; a short cap keeps what every add and settle writes small.
      const queue = new Queue<TokenData, null, Lane>(`lane-${lane}`, {
        ...opts,
        skipWaitingForReady: true,
        streams: { events: { maxLen: 100 } },
      });
      const worker = new Worker<TokenData, null, Lane>(`lane-${lane}`, null, {
        ...opts,
        lockDuration: this.#o.lockMs,
        autorun: false,
      });
      // Failures reach the callers through the rejected calls; the emitters' copies are noise.
      queue.on("error", () => undefined);
      worker.on("error", () => undefined);
      lanes.set(lane, { queue, worker });
    }
    return lanes;
  }

  async #ready(client: RedisClient): Promise<void> {
    if (client.status === "ready") return;
    let onReady: () => void = () => undefined;
    try {
      await within(
        new Promise<void>((resolve) => client.once("ready", (onReady = resolve))),
        this.#o.connectTimeoutMs,
        "connecting",
      );
    } finally {
      client.removeListener("ready", onReady);
    }
  }

  #require(): Map<Lane, LaneQueue> {
    if (!this.#lanes) throw new Error("Redis: the lane queues are not connected");
    return this.#lanes;
  }

  /** The epoch marker's value, set to `fresh` when missing (see {@link EPOCH_SCRIPT}). */
  async epoch(fresh: string): Promise<string> {
    this.#require();
    const client = await this.#root!.client;
    return String(
      await within(
        client.runCommand(EPOCH_COMMAND, [this.#epochKey, fresh]),
        this.#o.commandTimeoutMs,
        "reading the epoch",
      ),
    );
  }

  /**
   * Adds tokens, delayed until each record's `notBefore`. A token already there for a record
   * stays as it is, unless `replace` (the record's time changed: a release, a wait, a wake).
   */
  async offer(records: readonly Dispatchable[], options: { replace?: boolean; until?: boolean } = {}): Promise<void> {
    const lanes = this.#require();
    const data: TokenData = options.until ? { until: true } : {};
    await Promise.all(
      LANES.map(async (lane) => {
        const group = records.filter((r) => r.lane === lane);
        if (group.length === 0) return;
        const { queue } = lanes.get(lane)!;
        // A token being settled is locked and stays; its lease learns the record's new time (see the queue).
        if (options.replace)
          await within(
            Promise.all(group.map((r) => queue.remove(tokenId(r.seq)))),
            this.#o.commandTimeoutMs,
            "replacing tokens",
          );
        const jobs = group.map((r) => ({
          name: lane,
          data,
          opts: { jobId: tokenId(r.seq), delay: delayOf(r.notBefore), removeOnComplete: true, removeOnFail: true },
        }));
        await within(queue.addBulk(jobs), this.#o.commandTimeoutMs, "adding tokens");
      }),
    );
  }

  /**
   * Takes up to `max` due tokens lane-fairly: a first token from each lane shows which have work,
   * then each lane with work is asked for its weighted share of `max`, and a lane that runs dry
   * leaves its share to the others (work-conserving), as {@link fairShare} does for the record queue.
   */
  async take(max: number, weights: Readonly<Record<Lane, number>>): Promise<Token[]> {
    const lanes = this.#require();
    const taken = new Map<Lane, Token[]>(LANES.map((l) => [l, []]));
    const open = new Set<Lane>(LANES);
    const count = () => [...taken.values()].reduce((n, t) => n + t.length, 0);
    const fetch = async (lane: Lane, n: number): Promise<void> => {
      const { worker } = lanes.get(lane)!;
      const got = await Promise.all(
        Array.from({ length: n }, async () => {
          const lock = `${this.#nonce}:${this.#locks++}`;
          const job = await worker.getNextJob(lock, { block: false });
          return job ? { seq: seqOf(job.id), lane, until: job.data.until === true, job, lock } : null;
        }),
      );
      const tokens = got.filter((t): t is Token => t !== null);
      taken.get(lane)!.push(...tokens);
      if (tokens.length < n) open.delete(lane);
    };
    const round = async (asks: Map<Lane, number>) =>
      within(Promise.all([...asks].map(([lane, n]) => fetch(lane, n))), this.#o.commandTimeoutMs, "taking tokens");
    if (max >= LANES.length) await round(new Map(LANES.map((l) => [l, 1])));
    while (count() < max && open.size > 0) {
      const total = [...open].reduce((a, l) => a + weights[l], 0);
      let room = max - count();
      const asks = new Map<Lane, number>();
      for (const lane of LANES) {
        if (!open.has(lane) || room === 0) continue;
        const share = Math.max(1, Math.floor((max * weights[lane]) / total));
        const n = Math.min(room, Math.max(1, share - taken.get(lane)!.length));
        asks.set(lane, n);
        room -= n;
      }
      await round(asks);
    }
    return LANES.flatMap((l) => taken.get(l)!);
  }

  /** Removes taken tokens from Redis (each was locked by its taker, so only it can). */
  async settle(tokens: readonly Token[]): Promise<void> {
    const lanes = this.#require();
    const settled = Promise.all(
      tokens.map(async (t) => {
        try {
          await t.job.moveToCompleted(null, t.lock, false);
        } catch {
          // Its lock lapsed (the lease took longer than the lock): remove it unlocked.
          await lanes.get(t.lane)!.queue.remove(tokenId(t.seq));
        }
      }),
    );
    await within(settled, this.#o.commandTimeoutMs, "settling tokens");
  }

  /**
   * Removes tokens left taken by a process that died before settling them (their lock lapsed);
   * a taken token would otherwise block its record's next token for ever. Returns how many.
   */
  async reap(): Promise<number> {
    const lanes = this.#require();
    let reaped = 0;
    for (const { queue } of lanes.values()) {
      const ids = await within(queue.getRanges(["active"], 0, 999), this.#o.commandTimeoutMs, "listing taken tokens");
      // Locked ones are being settled right now and are left alone (remove answers 0).
      const codes = await within(
        Promise.all(ids.map((id) => queue.remove(id))),
        this.#o.commandTimeoutMs,
        "reaping tokens",
      );
      reaped += codes.filter((c) => c === 1).length;
    }
    return reaped;
  }

  /** Closes the lane queues and the connection; nothing waits on an unreachable Redis. */
  async close(): Promise<void> {
    const lanes = this.#lanes ? [...this.#lanes.values()] : [];
    this.#lanes = null;
    // Force: nothing is being processed, and a graceful QUIT would wait for a Redis that may be gone.
    const closing = Promise.all(lanes.flatMap((l) => [l.worker.close(true), l.queue.close()]));
    await within(closing, this.#o.commandTimeoutMs, "closing the lane queues").catch(() => undefined);
    await this.#root?.close(true).catch(() => undefined);
    this.#root = null;
  }
}
