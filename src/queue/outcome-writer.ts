import { jobEndType, jobEvent, type JobEvent } from "../contracts/job-event.ts";
import type { Job } from "../contracts/index.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { DocumentOutcome, WorkQueue } from "./work-queue.ts";

export interface OutcomeWriterOptions {
  queue: WorkQueue;
  ledger: Ledger;
  /** Outcomes buffered before a write is forced (the heartbeat flushes the rest). Default 64. */
  batch?: number;
  /** Every job transition this worker sees. */
  onJobEvent?: (event: JobEvent) => void;
}

interface Entry {
  outcome: DocumentOutcome;
  onWritten?: () => void;
}

/** What a worker learns of a job from the first envelope of it that it runs. */
export interface JobStart {
  jobId: string;
  collection: string;
  pipeline: string;
  pipelineVersion: string;
}

/**
 * Writes a worker's document outcomes in batches (completions in one transaction, dead letters in
 * another: each outcome with its stage records and its tombstone or dead letter), finishes the jobs
 * they complete, and is the one place a worker reports job lifecycle events: `job.started` the
 * first time it runs a job's document, and the job's end when it is this worker that finishes it.
 *
 * @example
 * const writer = new OutcomeWriter({ queue, ledger, onJobEvent: events.publish });
 * writer.started({ jobId, collection, pipeline, pipelineVersion });
 * writer.complete({ seq, jobId, docId, outcome: "inserted", stages });
 * await writer.flush();
 */
export class OutcomeWriter {
  readonly #o: OutcomeWriterOptions;
  #completed: Entry[] = [];
  #failed: Entry[] = [];
  #writing: Promise<void> = Promise.resolve();
  /** Jobs this worker reported started, with their pipeline version (bounded: see `started`). */
  readonly #started = new Map<string, string>();

  constructor(options: OutcomeWriterOptions) {
    this.#o = options;
  }

  /** Outcomes not yet written. */
  get pending(): number {
    return this.#completed.length + this.#failed.length;
  }

  /** Reports `job.started` the first time this worker runs one of the job's documents. */
  started(start: JobStart): void {
    if (this.#started.has(start.jobId)) return;
    this.#started.set(start.jobId, start.pipelineVersion);
    // Bounded: forgetting the oldest job at worst repeats its job.started.
    if (this.#started.size > 10_000) this.#started.delete(this.#started.keys().next().value!);
    this.#o.onJobEvent?.({
      type: "job.started",
      jobId: start.jobId,
      at: Date.now(),
      collection: start.collection,
      pipeline: start.pipeline,
      pipelineVersion: start.pipelineVersion,
    });
  }

  /**
   * Buffers a completed document; `onWritten` runs once it is durable (its lease can go then).
   * Resolves when buffered (or written, when the batch filled).
   */
  complete(outcome: DocumentOutcome, onWritten?: () => void): Promise<void> {
    this.#completed.push({ outcome, ...(onWritten ? { onWritten } : {}) });
    return this.#maybeFlush();
  }

  /** Buffers a dead letter; see {@link complete}. */
  deadLetter(outcome: DocumentOutcome, onWritten?: () => void): Promise<void> {
    this.#failed.push({ outcome, ...(onWritten ? { onWritten } : {}) });
    return this.#maybeFlush();
  }

  #maybeFlush(): Promise<void> {
    return this.pending >= (this.#o.batch ?? 64) ? this.flush() : Promise.resolve();
  }

  /** Writes what is buffered, then finishes the jobs it touched; resolves once written. */
  flush(): Promise<void> {
    const completed = this.#completed;
    const failed = this.#failed;
    this.#completed = [];
    this.#failed = [];
    const written = (entries: Entry[]) => {
      for (const e of entries) e.onWritten?.();
    };
    this.#writing = this.#writing.then(async () => {
      if (completed.length === 0 && failed.length === 0) return;
      const { queue } = this.#o;
      // Each list is one transaction; what did not get written stays buffered for the next
      // flush (its lease is still held and renewed), and what did is never written twice.
      try {
        await queue.complete(completed.map((e) => e.outcome));
      } catch (err) {
        this.#completed.unshift(...completed);
        this.#failed.unshift(...failed);
        throw err;
      }
      written(completed);
      try {
        await queue.deadLetter(failed.map((e) => e.outcome));
      } catch (err) {
        this.#failed.unshift(...failed);
        throw err;
      } finally {
        await this.#finishJobs(completed);
      }
      written(failed);
      await this.#finishJobs(failed);
    });
    const done = this.#writing;
    // A failed write must not poison the chain for the next one; the caller still sees it.
    this.#writing = done.catch(() => undefined);
    return done;
  }

  async #finishJobs(entries: Entry[]): Promise<void> {
    for (const jobId of new Set(entries.map((e) => e.outcome.jobId))) {
      const ended = await this.#o.ledger.finishIfDone(jobId);
      if (ended) this.ended(ended);
    }
  }

  /** Ends the jobs nobody else will (see `Ledger.finishIdleJobs`) and reports them. */
  async finishIdle(isAlive: (owner: string) => boolean): Promise<void> {
    for (const job of await this.#o.ledger.finishIdleJobs(isAlive)) this.ended(job);
  }

  /** Reports a job's end (completed or failed) as this worker saw it. */
  ended(job: Job): void {
    const type = jobEndType(job.state);
    if (!type) return;
    const version = this.#started.get(job.id);
    this.#o.onJobEvent?.(jobEvent(type, job, version ? { pipelineVersion: version } : {}));
    this.#started.delete(job.id);
  }
}
