import type { JobState } from "../contracts/index.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { HeldCollectionLocks } from "../locks/held-collection-locks.ts";
import type { WorkQueue } from "./work-queue.ts";

export interface LeaseKeeperOptions {
  queue: WorkQueue;
  ledger: Ledger;
  owner: string;
  leaseMs: number;
  /** How often cancellations are noticed and the tick runs. Leases are renewed every third of `leaseMs`. */
  heartbeatMs: number;
  /** Collection locks held by the documents in flight, renewed on the same timer. */
  locks?: HeldCollectionLocks | null;
  /** A lease this worker no longer holds (recovered by another process, or retired by cancel). */
  onLost?: (seq: number) => void;
  /** A job with documents in flight here was cancelled (from any process, on any host). */
  onCancelled?: (jobId: string) => void;
  /** Runs at the end of every tick (the outcome writer flushes here). */
  onTick?: () => Promise<void>;
  /** A tick failed (the store was unreachable); the next tick tries again. */
  onError?: (err: unknown) => void;
  now?: () => number;
}

/**
 * Keeps a worker's leases alive with one timer for all of them: renews leases and collection
 * locks, notices cancelled jobs, publishes each job's current stage when it changes, and gives
 * the outcome writer its turn. Ticks never overlap; a slow store delays the next one.
 *
 * @example
 * const keeper = new LeaseKeeper({
 *   queue,
 *   ledger,
 *   owner,
 *   leaseMs: 30_000,
 *   heartbeatMs: 250,
 *   onCancelled: (job) => abortJob(job),
 * });
 * keeper.start();
 * keeper.track(lease.seq, lease.jobId);
 * keeper.untrack(lease.seq);
 * await keeper.stop();
 */
export class LeaseKeeper {
  readonly #o: LeaseKeeperOptions;
  readonly #leases = new Map<number, string>();
  readonly #stages = new Map<string, string>();
  readonly #published = new Map<string, string>();
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #renewedAt = 0;

  constructor(options: LeaseKeeperOptions) {
    this.#o = options;
  }

  /** Seqs held now. */
  get held(): number[] {
    return [...this.#leases.keys()];
  }

  track(seq: number, jobId: string): void {
    this.#leases.set(seq, jobId);
  }

  untrack(seq: number): void {
    const jobId = this.#leases.get(seq);
    this.#leases.delete(seq);
    if (jobId !== undefined && ![...this.#leases.values()].includes(jobId)) {
      this.#stages.delete(jobId);
      this.#published.delete(jobId);
    }
  }

  /** The stage a job's documents reached last here; written to the ledger on the next tick if it changed. */
  stage(jobId: string, stage: string): void {
    this.#stages.set(jobId, stage);
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      // A tick still running (a slow store) makes this one skip: ticks never pile up.
      if (this.#ticking) return;
      this.#ticking = this.tick()
        .catch((err: unknown) => this.#o.onError?.(err))
        .finally(() => {
          this.#ticking = null;
        });
    }, this.#o.heartbeatMs);
    this.#timer.unref?.();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#ticking;
  }

  /** One round; `start` runs it on the timer. */
  async tick(): Promise<void> {
    const { queue, ledger, owner, leaseMs } = this.#o;
    const now = this.#o.now?.() ?? Date.now();
    await this.#o.locks?.renewDue();
    const jobs = [...new Set(this.#leases.values())];
    let lost: number[] = [];
    if (this.#leases.size > 0 && now - this.#renewedAt >= leaseMs / 3) {
      lost = await queue.renew(owner, this.held, leaseMs);
      // Only a renewal that went through counts: a failed one is tried again on the next tick.
      this.#renewedAt = now;
    }
    // Cancellations before lost leases: a cancel marks the job first, then retires its leases, so
    // a lease that a cancel took shows here as cancelled and its run stops as cancelled.
    if (jobs.length > 0) {
      const states: Map<string, JobState> = await ledger.jobStates(jobs);
      for (const [jobId, state] of states) if (state === "CANCELLED") this.#o.onCancelled?.(jobId);
    }
    for (const seq of lost) this.#o.onLost?.(seq);
    if (jobs.length > 0) {
      // Each write is an fsync on the embedded store: publish a job's stage only when it changed.
      for (const jobId of jobs) {
        const stage = this.#stages.get(jobId);
        if (stage !== undefined && this.#published.get(jobId) !== stage) {
          await ledger.setCurrentStage(jobId, stage);
          this.#published.set(jobId, stage);
        }
      }
    }
    await this.#o.onTick?.();
  }
}
