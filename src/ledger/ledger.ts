import type { Job, JobSpec, JobState } from "../contracts/index.ts";

export interface ListJobsOptions {
  limit?: number;
}

/** What `getJob` reads besides the job itself. */
export interface GetJobOptions {
  documents?: boolean;
  stages?: boolean;
  /** Documents at most (default: all). */
  limit?: number;
  /** Documents skipped first, in admission order (default 0). */
  offset?: number;
}

/** The SQL LIMIT of a documents page (both adapters): `limit`, or every row. */
export function pageLimit(limit: number | undefined): number {
  return limit === undefined ? 2_147_483_647 : Math.max(0, Math.floor(limit));
}

/** The SQL OFFSET of a documents page. */
export function pageOffset(offset: number | undefined): number {
  return Math.max(0, Math.floor(offset ?? 0));
}

/**
 * Where a source run stopped: the next page's cursor (null: at the end), the newest record's
 * update date seen by the last complete run, the job that saved it.
 */
export interface SourceCursor {
  cursor: string | null;
  watermark: string | null;
  jobId: string | null;
  /** ISO 8601. */
  updatedAt: string;
}

/**
 * The job ledger port: jobs, their document and stage records, and checkpoints. Adapters sit side
 * by side (`sqlite/`, `postgres/`) and pass one conformance suite (`ledger.conformance.ts`). The
 * spool is not here: the work queue (`src/queue`) admits, leases and retires documents, updating
 * their document records in the same transaction.
 *
 * Job states: PENDING → PROCESSING → COMPLETED | FAILED | CANCELLED; resume takes CANCELLED,
 * FAILED and COMPLETED-with-failures back to PENDING. Document states follow their spool record:
 * leased → PROCESSING, tombstoned → COMPLETED, dead-lettered → FAILED, parked → WAITING.
 */
export interface Ledger {
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Records a job; documents follow through the queue's `admit`, and `sealJob` says there are no
   * more. `owner` is the admitting process.
   */
  createJob(spec: JobSpec, owner?: string): Promise<Job>;
  /** Ends enumeration: the job can finish once its documents are done; with `error`, it FAILED. */
  sealJob(jobId: string, error?: string): Promise<Job>;
  /**
   * A job; with `documents`, its documents in admission order, `limit` of them (default all)
   * after the first `offset`; with `stages`, each document's stage records too.
   */
  getJob(jobId: string, options?: GetJobOptions): Promise<Job>;
  listJobs(options?: ListJobsOptions): Promise<Job[]>;
  /** Cheap state read for cancellation checks. */
  jobState(jobId: string): Promise<JobState>;
  /** States of several jobs at once (missing ids are left out): one read per heartbeat. */
  jobStates(jobIds: readonly string[]): Promise<Map<string, JobState>>;
  setCurrentStage(jobId: string, stage: string | null): Promise<void>;
  /** Finishes a sealed job none of whose documents is left to run: COMPLETED, or FAILED if every document failed. */
  finishIfDone(jobId: string): Promise<Job | null>;
  /**
   * Ends jobs nobody will end otherwise: sealed jobs with nothing left to run (their last worker
   * died between writing outcomes and finishing the job), and unsealed jobs whose admitting
   * process is gone (FAILED: not every document was accepted). Returns the jobs it ended.
   */
  finishIdleJobs(isAlive: (owner: string) => boolean): Promise<Job[]>;
  /**
   * Documents accepted for `collection` that have not finished yet (waiting, running or parked), in
   * jobs still running.
   */
  pendingDocuments(collection: string): Promise<number>;
  /** Jobs whose documents are still being admitted (not sealed, not ended). */
  admittingJobs(): Promise<number>;
  /** How many jobs are in each state (every state present, 0 when none): the `ledger_jobs` gauge. */
  countJobsByState(): Promise<Record<JobState, number>>;
  /** Marks a PENDING or PROCESSING job and its unfinished documents CANCELLED (JOB_STATE_CONFLICT otherwise). */
  cancelJob(jobId: string): Promise<Job>;
  /** Makes a job runnable again: its failed and cancelled documents go back to PENDING. */
  resumeJob(jobId: string): Promise<Job>;
  /** A dead letter of this job went back to work: its document is PENDING and the job runs again. */
  reopenDocument(jobId: string, docId: string): Promise<void>;
  /**
   * Deletes jobs that ended before `endedBefore` (epoch ms), with their document, stage and
   * checkpoint records; returns how many jobs went. The index is not touched.
   */
  pruneJobs(endedBefore: number): Promise<number>;
  loadCheckpoint(jobId: string, docId: string, node: string): Promise<Record<string, unknown> | undefined>;
  saveCheckpoint(jobId: string, docId: string, node: string, output: Record<string, unknown>): Promise<void>;
  /**
   * Keeps the YAML text a pipeline version (`name@<12 hex of its sha256>`) was hashed from, so that
   * a job runs the pipeline it was created with even after the file changes. Insert-or-ignore: the
   * text of a version never changes. Snapshots are small and few, and are not pruned with jobs (a
   * dead letter sent back to work may still need one).
   */
  savePipelineSnapshot(version: string, yaml: string): Promise<void>;
  /** The YAML saved for `version`, or null when none was (a data folder from before snapshots). */
  pipelineSnapshot(version: string): Promise<string | null>;
  /** The saved position of a source run for (collection, source, queryKey), or null if it never ran. */
  getSourceCursor(collection: string, source: string, queryKey: string): Promise<SourceCursor | null>;
  /** Saves (upserts) that position; durable when it resolves. */
  saveSourceCursor(
    collection: string,
    source: string,
    queryKey: string,
    state: { cursor: string | null; watermark: string | null; jobId: string | null },
  ): Promise<void>;
}
