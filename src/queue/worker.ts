import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { decodeEnvelope, envelopeToRef } from "../contracts/envelope.ts";
import { tenantOf } from "../contracts/tenant.ts";
import { isPushback, isSluiceError, SluiceError, toSluiceError } from "../contracts/errors.ts";
import { isTerminal, type StageRecord } from "../contracts/index.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import { jobEndType, jobEvent, type JobEvent } from "../contracts/job-event.ts";
import type { DocumentUpdate, Ledger } from "../ledger/ledger.ts";
import type { CollectionLock } from "../locks/collection-lock.ts";
import { type CollectionLockShare, HeldCollectionLocks } from "../locks/held-collection-locks.ts";
import type { CompiledPipeline } from "../pipeline/build.ts";
import { runPipeline } from "../pipeline/executor.ts";
import type { Logger } from "pino";
import { storedTraceparent, withoutTraceparent } from "../observability/envelope-trace.ts";
import { withLogFields } from "../observability/log-context.ts";
import { newTraceparent } from "../observability/trace-context.ts";
import { activeTraceparent, contextFromTraceparent, traceparentFields, withSpan } from "../observability/tracing.ts";
import type { SpoolRecord } from "../spool/spool.ts";

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
  /** How often leases are renewed, cancellations noticed and outcomes written. */
  heartbeatMs?: number;
  /** Leases after which a record that never completes goes to the dead-letter lane. */
  maxAttempts: number;
  /** Time from acceptance after which a record that has not completed goes to the dead-letter lane. */
  deadlineMs: number;
  onDocument?: (progress: DocumentProgress) => void;
  onEvent?: (event: StageEvent) => void;
  /**
   * Job transitions this worker sees: `job.started` when it begins a job's first document (once
   * per job and drain), and the job's end when it is this worker that records the last outcome.
   */
  onJobEvent?: (event: JobEvent) => void;
  /** Called with the number of records whose dead owners' leases were freed at start. */
  onRecovered?: (n: number) => void;
  onDeadLetter?: () => void;
  /** Stage failures, retries and failed documents are logged here, with the run's job, document and trace ids. */
  logger?: Logger;
  /**
   * Each collection's ingest lock, taken before running its documents, so two ingests never
   * write one collection at once; a document whose collection another live process holds goes
   * back to the spool without spending an attempt.
   */
  collectionLock?: CollectionLock;
  /** TTL of a collection lock, renewed on the heartbeat while held. Default 300 s. */
  lockTtlMs?: number;
}

export interface DrainOptions {
  /** Only this job's records; return when the job has ended. */
  jobId?: string;
  signal?: AbortSignal;
  /** Without a job: return when nothing is left to lease. */
  exitWhenIdle?: boolean;
  pollMs?: number;
  isAlive?: (owner: string) => boolean;
}

interface InFlight {
  record: SpoolRecord;
  controller: AbortController;
  done: Promise<void>;
}

/**
 * Drains the spool: leases records lane-fairly, runs each document through its pipeline, and
 * writes its outcome with its tombstone. A document that fails for good (bad input, its attempt
 * limit or its deadline) goes to the dead-letter lane with its reason and fails alone; a transient
 * failure goes back to the spool with backoff; a cancelled job's documents stop between stages.
 *
 * @example
 * await new Worker(ledger, (name) => sluice.pipeline(name), { owner, concurrency: 16, maxAttempts: 5, deadlineMs: 3_600_000 }).drain({ exitWhenIdle: true });
 */
export class Worker {
  readonly #ledger: Ledger;
  readonly #pipelineFor: (name: string) => Promise<CompiledPipeline>;
  readonly #o: WorkerOptions & { leaseMs: number; heartbeatMs: number };

  constructor(ledger: Ledger, pipelineFor: (name: string) => Promise<CompiledPipeline>, options: WorkerOptions) {
    this.#ledger = ledger;
    this.#pipelineFor = pipelineFor;
    this.#o = { leaseMs: 30_000, heartbeatMs: 250, ...options };
  }

  async drain(options: DrainOptions = {}): Promise<void> {
    const ledger = this.#ledger;
    const { owner, concurrency, leaseMs, heartbeatMs } = this.#o;
    // A lock owner of its own per drain: two drains in one process must not share a collection either.
    const lockOwner = `${owner}:${randomBytes(3).toString("hex")}`;
    const locks = this.#o.collectionLock
      ? new HeldCollectionLocks(this.#o.collectionLock, lockOwner, { ...(this.#o.lockTtlMs ? { ttlMs: this.#o.lockTtlMs } : {}), ...(options.isAlive ? { isAlive: options.isAlive } : {}) })
      : null;
    if (options.isAlive) {
      this.#o.onRecovered?.(await ledger.recover(options.isAlive));
      await ledger.finishIdleJobs(options.isAlive);
    }

    const inFlight = new Map<number, InFlight>();
    const jobControllers = new Map<string, AbortController>();
    const stages = new Map<string, string>();
    const published = new Map<string, string>();
    const perJob = new Map<string, number>();
    // Jobs this drain reported started, with the pipeline version their envelopes carry.
    const startedJobs = new Map<string, string>();
    let buffer: Array<{ jobId: string; update: DocumentUpdate }> = [];
    let writing: Promise<void> = Promise.resolve();
    const flush = (): Promise<void> => {
      const batch = buffer;
      buffer = [];
      writing = writing.then(async () => {
        const byJob = new Map<string, DocumentUpdate[]>();
        for (const { jobId, update } of batch) byJob.set(jobId, [...(byJob.get(jobId) ?? []), update]);
        for (const [jobId, updates] of byJob) {
          await ledger.recordDocuments(jobId, updates);
          const ended = await ledger.finishIfDone(jobId);
          const type = ended ? jobEndType(ended.state) : null;
          if (ended && type) this.#o.onJobEvent?.(jobEvent(type, ended, startedJobs.has(jobId) ? { pipelineVersion: startedJobs.get(jobId)! } : {}));
          if (ended) startedJobs.delete(jobId);
        }
      });
      return writing;
    };

    const heartbeat = setInterval(() => {
      void (async () => {
        await locks?.renewDue();
        if (inFlight.size > 0) await ledger.renewLeases(owner, [...inFlight.keys()], leaseMs);
        for (const [jobId, controller] of jobControllers) {
          const state = await ledger.jobState(jobId);
          if (state === "CANCELLED") controller.abort(new SluiceError("JOB_CANCELLED", `job ${jobId} was cancelled`));
          // Each write is an fsync: publish a job's stage only when it changed.
          const stage = stages.get(jobId);
          if (stage !== undefined && published.get(jobId) !== stage) {
            published.set(jobId, stage);
            await ledger.setCurrentStage(jobId, stage);
          }
        }
        if (buffer.length > 0) await flush();
      })().catch(() => undefined);
    }, heartbeatMs);

    const finish = (jobId: string, update: DocumentUpdate) => {
      buffer.push({ jobId, update });
      this.#o.onDocument?.({ jobId, docId: update.docId, state: update.state, outcome: update.outcome ?? null, error: update.error ?? null });
      if (update.state === "FAILED") this.#o.onDeadLetter?.();
      if (buffer.length >= 64) void flush().catch(() => undefined);
    };

    const run = async (record: SpoolRecord, controller: AbortController): Promise<void> => {
      const fail = (code: string, message: string, records: StageRecord[] = []) => {
        this.#o.logger?.warn({ code, err: message }, "document failed");
        finish(record.jobId, { seq: record.seq, docId: record.docId, state: "FAILED", outcome: null, error: { code, message }, stages: records });
      };
      let envelope;
      try {
        envelope = decodeEnvelope(record.envelope);
      } catch (err) {
        return fail("VALIDATION_FAILED", `spool record ${record.seq}: ${toSluiceError(err).message}`);
      }
      if (!startedJobs.has(record.jobId)) {
        startedJobs.set(record.jobId, envelope.version);
        // Bounded: jobs another process finished are never deleted here; forgetting the oldest at worst repeats its job.started.
        if (startedJobs.size > 10_000) startedJobs.delete(startedJobs.keys().next().value!);
        this.#o.onJobEvent?.({ type: "job.started", jobId: record.jobId, at: Date.now(), collection: envelope.collection, pipeline: envelope.pipeline, pipelineVersion: envelope.version });
      }
      if (record.attempts > this.#o.maxAttempts) {
        return fail("ATTEMPTS_EXHAUSTED", `${envelope.source}: leased ${record.attempts - 1} times without completing (attempt limit ${this.#o.maxAttempts}); the process may have died on it`);
      }
      if (Date.now() - record.createdMs > this.#o.deadlineMs) {
        return fail("DEADLINE_EXCEEDED", `${envelope.source}: not completed within ${Math.round(this.#o.deadlineMs / 1000)} s of being accepted`);
      }
      const records = new Map<string, StageRecord>();
      // The collection name says whose document it is; model calls and events carry that tenant.
      const tenant = tenantOf(envelope.collection);
      const onEvent = (event: StageEvent) => {
        this.#o.onEvent?.({ ...event, collection: envelope.collection, pipelineVersion: envelope.version, tenant });
        if (event.type === "stage.failed") this.#o.logger?.warn({ stage: event.stage, attempt: event.attempt, code: event.error?.code, err: event.error?.message }, "stage failed");
        if (event.type === "stage.retrying") this.#o.logger?.info({ stage: event.stage, attempt: event.attempt }, "stage retrying");
        const iso = new Date(event.at).toISOString();
        const rec = records.get(event.stage) ?? { stage: event.stage, state: "RUNNING" as const, attempts: 0, startedAt: iso, finishedAt: null, error: null };
        rec.attempts = Math.max(rec.attempts, event.attempt);
        if (event.type === "stage.started") stages.set(record.jobId, event.stage);
        if (event.type === "stage.completed") Object.assign(rec, { state: "COMPLETED", finishedAt: iso });
        if (event.type === "stage.skipped") Object.assign(rec, { state: "SKIPPED", finishedAt: iso });
        if (event.type === "stage.failed") Object.assign(rec, { state: "FAILED", finishedAt: iso, error: event.error ? `${event.error.code}: ${event.error.message}` : null });
        records.set(event.stage, rec);
      };
      let share: CollectionLockShare | null = null;
      try {
        // Refused (another live process ingests this collection): COLLECTION_LOCKED, handed back refunded below.
        share = locks ? await locks.enter(envelope.collection, controller) : null;
        const pipeline = await this.#pipelineFor(envelope.pipeline);
        await pipeline.warmUp();
        const runDocument = (traceparent: string) => runPipeline(
          pipeline,
          { [pipeline.runInputs[0]!]: envelopeToRef(withoutTraceparent(envelope)) },
          {
            jobId: record.jobId,
            docId: record.docId,
            collection: envelope.collection,
            signal: controller.signal,
            onEvent,
            beforeStage: () => controller.signal.throwIfAborted(),
            // One trace per document run: model-server calls of every stage join it.
            traceparent,
            tenantId: tenant,
            checkpoints: {
              load: (node) => ledger.loadCheckpoint(record.jobId, record.docId, node),
              save: (node, output) => ledger.saveCheckpoint(record.jobId, record.docId, node, output),
            },
          },
        );
        // The document's run continues the trace the gate stored (the request or ingest that
        // admitted it), or starts one of its own.
        const stored = storedTraceparent(envelope);
        const attributes = { "sluice.job_id": record.jobId, "sluice.doc_id": record.docId, "sluice.collection": envelope.collection, "sluice.pipeline": envelope.version, "sluice.lease": record.attempts };
        const result = await withSpan("sluice.document", { parent: contextFromTraceparent(stored), attributes }, async () => {
          const traceparent = activeTraceparent() ?? stored ?? newTraceparent();
          return withLogFields({ ...traceparentFields(traceparent), tenant }, () => runDocument(traceparent));
        });
        const outcome = result.status === "skipped" ? result.outcome : pickOutcome(result.outputs);
        finish(record.jobId, { seq: record.seq, docId: record.docId, state: "COMPLETED", outcome, error: null, stages: [...records.values()] });
      } catch (err) {
        const e = toSluiceError(err);
        if (controller.signal.aborted) {
          // Cancelled: cancel already retired the record. Shutting down: hand it back at once.
          if (!isCancel(controller.signal.reason)) await ledger.release(record.seq, null, 0);
          return;
        }
        // An open breaker or a callee pushing back never tried this document: hand it back
        // without spending one of its attempts, so an outage longer than the retry budget (a
        // model server restarting) loses nothing. Its deadline still bounds how long it waits.
        const refund = e.code === "CIRCUIT_OPEN" || isPushback(e);
        if (e.retryable && (refund || record.attempts < this.#o.maxAttempts)) {
          const backoff = Math.min(60_000, 1000 * 2 ** (record.attempts - 1)) * (0.5 + Math.random() / 2);
          this.#o.logger?.info({ code: e.code, err: e.message, refund, backoff_ms: Math.round(backoff) }, "document handed back to retry");
          await ledger.release(record.seq, `${e.code}: ${e.message}`, Date.now() + backoff, { refund });
          return;
        }
        fail(e.code, e.message, [...records.values()]);
      } finally {
        await share?.exit();
      }
    };

    try {
      for (;;) {
        if (options.signal?.aborted) break;
        const free = concurrency - inFlight.size;
        let leased: SpoolRecord[] = [];
        if (free > 0 && (free >= concurrency / 2 || inFlight.size === 0)) {
          leased = await ledger.lease(owner, free, leaseMs, options.jobId ? { jobId: options.jobId } : {});
          // A foreground job with nothing to lease may be waiting on a spool that other jobs
          // filled (its producer paused by backpressure): help drain them rather than wait forever.
          if (options.jobId && leased.length === 0 && inFlight.size === 0) leased = await ledger.lease(owner, free, leaseMs);
        }
        for (const record of leased) {
          let jc = jobControllers.get(record.jobId);
          if (!jc) jobControllers.set(record.jobId, (jc = new AbortController()));
          const controller = new AbortController();
          const signals = [controller.signal, jc.signal, ...(options.signal ? [options.signal] : [])];
          const linked = AbortSignal.any(signals);
          linked.addEventListener("abort", () => controller.abort(linked.reason), { once: true });
          perJob.set(record.jobId, (perJob.get(record.jobId) ?? 0) + 1);
          // Every log line of the run says whose it is (the run adds its tenant once the envelope is read).
          const fields = { correlation_id: record.jobId, job_id: record.jobId, doc_id: record.docId };
          const done = withLogFields(fields, () => run(record, controller)).finally(() => {
            inFlight.delete(record.seq);
            const left = (perJob.get(record.jobId) ?? 1) - 1;
            if (left > 0) perJob.set(record.jobId, left);
            else {
              // Nothing of this job is in flight: stop watching it.
              perJob.delete(record.jobId);
              jobControllers.delete(record.jobId);
              stages.delete(record.jobId);
              published.delete(record.jobId);
            }
          });
          inFlight.set(record.seq, { record, controller, done });
        }
        if (inFlight.size > 0) {
          await Promise.race([...[...inFlight.values()].map((f) => f.done), sleep(heartbeatMs)]);
          continue;
        }
        await flush();
        if (options.isAlive) await ledger.finishIdleJobs(options.isAlive);
        // Idle is the time to reclaim tombstones, in bulk rather than one delete per document.
        const spool = ledger.spool();
        if (spool.stats().tombstoned >= COMPACT_AFTER) spool.compact();
        if (options.jobId) {
          const state = await ledger.jobState(options.jobId);
          if (isTerminal(state)) break;
        } else if (options.exitWhenIdle && leased.length === 0 && (await ledger.admittingJobs()) === 0) {
          // Idle, and no producer is still admitting documents (a worker started beside a slow
          // enumeration must not leave before the first batch lands).
          break;
        }
        await sleep(options.pollMs ?? 200, undefined, options.signal ? { signal: options.signal } : {}).catch(() => undefined);
      }
      await Promise.all([...inFlight.values()].map((f) => f.done));
      await flush();
    } finally {
      clearInterval(heartbeat);
      await locks?.releaseAll();
    }
  }
}

function isCancel(reason: unknown): boolean {
  return isSluiceError(reason) && reason.code === "JOB_CANCELLED";
}

function pickOutcome(outputs: Map<string, Record<string, unknown>>): string | null {
  for (const output of outputs.values()) {
    const result = output["result"] as { outcome?: unknown } | undefined;
    if (result && typeof result.outcome === "string") return result.outcome;
  }
  return null;
}
