import { randomBytes } from "node:crypto";
import { setMaxListeners } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "pino";
import { SluiceError } from "../contracts/errors.ts";
import { isTerminal } from "../contracts/index.ts";
import type { JobEvent } from "../contracts/job-event.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { CollectionLock } from "../locks/collection-lock.ts";
import { HeldCollectionLocks } from "../locks/held-collection-locks.ts";
import type { CompiledPipeline } from "../pipeline/build.ts";
import { withLogFields } from "../observability/log-context.ts";
import type { RequeuePolicy } from "./decide.ts";
import { cancelled, runDocument, type RunSettlement } from "./document-run.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { OutcomeWriter } from "./outcome-writer.ts";
import type { Lease, Recovered, WorkQueue } from "./work-queue.ts";

/** How long a collection lock outlives its last document in flight (the next wave's documents reuse it). */
const LOCK_LINGER_MS = 1_000;

/** Tombstoned records an idle worker lets pile up before it compacts the spool. */
const COMPACT_AFTER = 10_000;

export interface DocumentProgress {
  jobId: string;
  docId: string;
  state: "COMPLETED" | "FAILED";
  outcome: string | null;
  error: { code: string; message: string } | null;
}

export interface WorkerOptions {
  /** Identity written on leases: `host:pid:nonce`, so a dead owner can be recognised. */
  owner: string;
  /** Documents in flight at once. */
  concurrency: number;
  leaseMs?: number;
  /** How often cancellations are noticed and outcomes written. */
  heartbeatMs?: number;
  /** How a failed document of a pipeline goes back to the queue (its `requeue` policy, or the engine's default). */
  policyFor: (pipeline: CompiledPipeline) => RequeuePolicy;
  onDocument?: (progress: DocumentProgress) => void;
  onEvent?: (event: StageEvent) => void;
  /** Job transitions this worker sees (see {@link OutcomeWriter}). */
  onJobEvent?: (event: JobEvent) => void;
  /** Called after each recovery with what it found. */
  onRecovered?: (recovered: Recovered) => void;
  onDeadLetter?: () => void;
  /** Stage failures, retries and failed documents are logged here, with the run's job, document and trace ids. */
  logger?: Logger;
  /**
   * Each collection's ingest lock, taken before running its documents, so two ingests never
   * write one collection at once; a document whose collection another live process holds goes
   * back to the queue without spending an attempt.
   */
  collectionLock?: CollectionLock | null;
  /** TTL of a collection lock, renewed on the heartbeat while held. Default 300 s. */
  lockTtlMs?: number;
  /** Runs whenever the worker finds nothing to lease (housekeeping such as job retention). */
  onIdle?: () => Promise<void>;
}

export interface DrainOptions {
  /** Only this job's records; return when the job has ended. */
  jobId?: string;
  signal?: AbortSignal;
  /** Without a job: return when nothing is left to lease. */
  exitWhenIdle?: boolean;
  pollMs?: number;
  /** Whether a lease owner's process is alive (its leases are recovered at once when not). */
  isAlive?: (owner: string) => boolean;
}

interface InFlight {
  lease: Lease;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Drains the work queue: leases documents lane-fairly, runs each through its pipeline
 * ({@link runDocument}), and carries out the decision: complete and dead-letter through the
 * {@link OutcomeWriter}, retry, refund, wait and hand-back through the queue. A {@link LeaseKeeper}
 * keeps the leases and collection locks alive and notices cancelled jobs. Documents recovered
 * from a crashed process (suspects) run alone, so only a document that kills the process while
 * alone in it is blamed.
 *
 * @example
 * const worker = new Worker({ queue, ledger }, (name, version) => sluice.pipelineForRun(name, version), {
 *   owner,
 *   concurrency: 16,
 *   policyFor,
 * });
 * await worker.drain({ exitWhenIdle: true });
 */
export class Worker {
  readonly #queue: WorkQueue;
  readonly #ledger: Ledger;
  readonly #pipelineFor: (name: string, version?: string) => Promise<CompiledPipeline>;
  readonly #o: WorkerOptions & { leaseMs: number; heartbeatMs: number };

  constructor(
    stores: { queue: WorkQueue; ledger: Ledger },
    pipelineFor: (name: string, version?: string) => Promise<CompiledPipeline>,
    options: WorkerOptions,
  ) {
    this.#queue = stores.queue;
    this.#ledger = stores.ledger;
    this.#pipelineFor = pipelineFor;
    this.#o = { leaseMs: 30_000, heartbeatMs: 250, ...options };
  }

  async drain(options: DrainOptions = {}): Promise<void> {
    const queue = this.#queue;
    const { owner, concurrency, leaseMs } = this.#o;
    const isAlive = options.isAlive ?? (() => true);
    // A lock owner of its own per drain: two drains in one process must not share a collection either.
    const lockOwner = `${owner}:${randomBytes(3).toString("hex")}`;
    const locks = this.#o.collectionLock
      ? new HeldCollectionLocks(this.#o.collectionLock, lockOwner, {
          ...(this.#o.lockTtlMs ? { ttlMs: this.#o.lockTtlMs } : {}),
          isAlive,
          // Held across the gap between two leased waves; let go once nothing of it runs.
          lingerMs: LOCK_LINGER_MS,
        })
      : null;
    const writer = new OutcomeWriter({
      queue,
      ledger: this.#ledger,
      ...(this.#o.onJobEvent ? { onJobEvent: this.#o.onJobEvent } : {}),
    });
    const inFlight = new Map<number, InFlight>();
    const jobControllers = new Map<string, AbortController>();
    const lost = new Set<number>();
    if (options.signal) setMaxListeners(concurrency + 8, options.signal);
    const keeper = new LeaseKeeper({
      queue,
      ledger: this.#ledger,
      owner,
      leaseMs,
      heartbeatMs: this.#o.heartbeatMs,
      locks,
      onLost: (seq) => {
        lost.add(seq);
        inFlight.get(seq)?.controller.abort(new SluiceError("STAGE_FAILED", `lease of spool record ${seq} was lost`));
      },
      onCancelled: (jobId) => jobControllers.get(jobId)?.abort(cancelled(jobId)),
      onTick: () => writer.flush(),
      onError: (err) => this.#o.logger?.warn({ err }, "heartbeat failed; retrying"),
    });

    const recover = async () => {
      const recovered = await queue.recover(isAlive);
      if (recovered.suspects + recovered.blamed > 0) this.#o.onRecovered?.(recovered);
    };

    const settle = async (lease: Lease, s: RunSettlement, solo: boolean): Promise<void> => {
      const d = s.decision;
      const base = { seq: lease.seq, jobId: lease.jobId, docId: lease.docId, stages: s.stages };
      if (d.action === "complete" || d.action === "dead-letter") {
        const error = d.action === "dead-letter" ? { code: d.code, message: d.message } : null;
        // The lease stays held (and renewed) until the outcome is durable.
        const written = () => keeper.untrack(lease.seq);
        // A failed write keeps the outcome buffered for the heartbeat's next flush: not lost, not ours to throw.
        const flushed = (p: Promise<void>) =>
          p.catch((err: unknown) =>
            this.#o.logger?.warn({ err }, "outcomes not written yet; retrying on the next heartbeat"),
          );
        if (d.action === "complete") await flushed(writer.complete({ ...base, outcome: s.outcome }, written));
        else {
          await flushed(writer.deadLetter({ ...base, error }, written));
          this.#o.onDeadLetter?.();
        }
        // A document run alone is written at once: a crash after it must not blame it.
        if (solo) await flushed(writer.flush());
        this.#o.onDocument?.({
          jobId: lease.jobId,
          docId: lease.docId,
          state: d.action === "complete" ? "COMPLETED" : "FAILED",
          outcome: s.outcome,
          error,
        });
        return;
      }
      keeper.untrack(lease.seq);
      if (lost.has(lease.seq)) return; // another process holds it now: nothing of ours to hand back
      if (d.action === "retry" || d.action === "refund")
        await queue.release(lease.seq, {
          owner,
          error: d.error,
          notBefore: Date.now() + d.delayMs,
          refund: d.action === "refund",
        });
      else if (d.action === "wait")
        await queue.wait(lease.seq, {
          owner,
          condition: d.condition,
          reason: d.reason,
          ...(d.until !== undefined ? { until: d.until } : {}),
          ...(d.stage !== undefined ? { stage: d.stage } : {}),
          stages: s.stages,
        });
      // Retires the job's records the cancel itself may not have reached (idempotent).
      else if (d.action === "cancelled") await queue.cancelJob(lease.jobId);
      else await queue.release(lease.seq, { owner, notBefore: 0, refund: true });
    };

    const start = (lease: Lease, solo: boolean) => {
      let jc = jobControllers.get(lease.jobId);
      if (!jc) {
        jobControllers.set(lease.jobId, (jc = new AbortController()));
        // Every run of the job in flight listens to it (removed when the run ends).
        setMaxListeners(concurrency + 1, jc.signal);
      }
      // The run stops when its job is cancelled or the worker stops. Listeners on those long-lived
      // signals are removed when the run ends (AbortSignal.any with a listener would keep every
      // finished run reachable for the life of the process).
      const controller = new AbortController();
      const sources = [jc.signal, ...(options.signal ? [options.signal] : [])];
      const follow = (event: Event) => controller.abort((event.target as AbortSignal).reason);
      for (const source of sources) {
        if (source.aborted) controller.abort(source.reason);
        else source.addEventListener("abort", follow, { once: true });
      }
      const unfollow = () => {
        for (const source of sources) source.removeEventListener("abort", follow);
      };
      keeper.track(lease.seq, lease.jobId);
      // Every log line of the run says whose it is (the run adds its tenant once the envelope is read).
      const fields = { correlation_id: lease.jobId, job_id: lease.jobId, doc_id: lease.docId };
      const run = async () => {
        const settlement = await runDocument(lease, controller.signal, {
          pipelineFor: this.#pipelineFor,
          policyFor: this.#o.policyFor,
          ledger: this.#ledger,
          locks,
          logger: this.#o.logger,
          onStart: (_l, envelope) =>
            writer.started({
              jobId: lease.jobId,
              collection: envelope.collection,
              pipeline: envelope.pipeline,
              pipelineVersion: envelope.version,
            }),
          onEvent: (event) => {
            if (event.type === "stage.started") keeper.stage(lease.jobId, event.stage);
            this.#o.onEvent?.(event);
          },
          // Marked only once warm: a process killed while loading models blames nobody.
          ...(solo ? { beforeRun: (l: Lease) => queue.isolate(owner, l.seq) } : {}),
        });
        await settle(lease, settlement, solo);
      };
      const done = withLogFields(fields, run)
        .catch((err: unknown) => {
          // Not handed back (the store failed): stop renewing, so the lease lapses and is recovered.
          keeper.untrack(lease.seq);
          this.#o.logger?.error({ err }, "could not record a document's end; its lease will be recovered");
        })
        .finally(() => {
          unfollow();
          inFlight.delete(lease.seq);
          lost.delete(lease.seq);
          if (![...inFlight.values()].some((f) => f.lease.jobId === lease.jobId)) jobControllers.delete(lease.jobId);
        });
      inFlight.set(lease.seq, { lease, controller, done });
    };

    await recover();
    await writer.finishIdle(isAlive);
    keeper.start();
    let recoveredAt = Date.now();
    let finished = false;
    /** One round of the loop: false to go round again at once, true to wait a poll first. */
    const step = async (): Promise<boolean> => {
      if (Date.now() - recoveredAt > leaseMs / 2) {
        recoveredAt = Date.now();
        await recover();
      }
      if (inFlight.size === 0) {
        // A suspect runs alone: if the process dies now, it is the one to blame.
        const [suspect] = await queue.lease(owner, 1, leaseMs, { suspects: "only" });
        if (suspect) {
          start(suspect, true);
          await inFlight.get(suspect.seq)?.done;
          return false;
        }
      }
      let leased: Lease[] = [];
      const free = concurrency - inFlight.size;
      if (free > 0 && (free >= concurrency / 2 || inFlight.size === 0)) {
        leased = await queue.lease(owner, free, leaseMs, options.jobId ? { jobId: options.jobId } : {});
        // A foreground job with nothing to lease may be waiting on a spool that other jobs
        // filled (its producer paused by backpressure): help drain them rather than wait forever.
        if (options.jobId && leased.length === 0 && inFlight.size === 0)
          leased = await queue.lease(owner, free, leaseMs);
      }
      for (const lease of leased) start(lease, false);
      if (inFlight.size > 0) {
        await Promise.race([...[...inFlight.values()].map((f) => f.done), sleep(this.#o.heartbeatMs)]);
        return false;
      }
      await writer.flush();
      await locks?.releaseIdle();
      await recover();
      recoveredAt = Date.now();
      await writer.finishIdle(isAlive);
      // Idle is the time to reclaim tombstones, in bulk rather than one delete per document.
      if ((await queue.stats()).tombstoned >= COMPACT_AFTER) await queue.compact();
      await this.#o.onIdle?.();
      if (options.jobId) {
        finished = isTerminal(await this.#ledger.jobState(options.jobId));
      } else if (options.exitWhenIdle && leased.length === 0) {
        // Idle, and no producer is still admitting documents (a worker started beside a slow
        // enumeration must not leave before the first batch lands).
        finished = (await this.#ledger.admittingJobs()) === 0;
      }
      return true;
    };
    try {
      for (;;) {
        if (options.signal?.aborted) break;
        let idle: boolean;
        try {
          idle = await step();
        } catch (err) {
          // The store is away (a database restart, a network cut): the documents in flight go on,
          // their outcomes stay buffered, and this worker tries again rather than exit.
          this.#o.logger?.warn({ err }, "the work queue cannot be reached; retrying");
          idle = true;
        }
        if (!idle) continue;
        if (finished) break;
        await sleep(options.pollMs ?? 200, undefined, options.signal ? { signal: options.signal } : {}).catch(
          () => undefined,
        );
      }
      await Promise.all([...inFlight.values()].map((f) => f.done));
      await writer.flush();
    } finally {
      await keeper.stop();
      await locks?.releaseAll();
    }
  }
}
