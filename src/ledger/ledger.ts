import type { DocumentRef, Job, JobSpec, JobState, StageRecord } from "../contracts/index.ts";
import type { Lane, Spool, SpoolRecord } from "../spool/spool.ts";

/** A document the gate accepted: its reference, its lane and its encoded envelope. */
export interface AdmittedDocument {
  ref: DocumentRef;
  lane: Lane;
  envelope: Uint8Array;
}

/** The outcome of one document's run, written with its stage records in one transaction. */
export interface DocumentUpdate {
  /** The spool record the run leased. */
  seq: number;
  docId: string;
  state: "COMPLETED" | "FAILED";
  outcome?: string | null;
  error?: { code: string; message: string } | null;
  stages: StageRecord[];
}

export interface ListJobsOptions {
  limit?: number;
}

/**
 * The job ledger port, with the durable spool it dispatches from. Adapters sit side by side
 * (`sqlite/`) and pass one conformance suite (`ledger.conformance.ts`).
 *
 * Job states: PENDING → PROCESSING → COMPLETED | FAILED | CANCELLED; resume takes CANCELLED,
 * FAILED and COMPLETED-with-failures back to PENDING. Document states follow their spool record:
 * leased → PROCESSING, tombstoned → COMPLETED, dead-lettered → FAILED.
 */
export interface Ledger {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Records a job; documents follow with `admit`, and `seal` says there are no more. `owner` is the admitting process. */
  createJob(spec: JobSpec, owner?: string): Promise<Job>;
  /** Appends accepted documents to the spool and the job, durably, in one transaction. */
  admit(jobId: string, documents: AdmittedDocument[]): Promise<void>;
  /** Ends enumeration: the job can finish once its documents are done; with `error`, it FAILED. */
  sealJob(jobId: string, error?: string): Promise<Job>;
  getJob(jobId: string, options?: { documents?: boolean; stages?: boolean }): Promise<Job>;
  listJobs(options?: ListJobsOptions): Promise<Job[]>;
  /** Cheap state read for cancellation checks between stages. */
  jobState(jobId: string): Promise<JobState>;
  /** Leases live spool records (lane-fair) and marks their documents and jobs PROCESSING. */
  lease(owner: string, max: number, leaseMs: number, options?: { jobId?: string }): Promise<SpoolRecord[]>;
  renewLeases(owner: string, seqs: readonly number[], leaseMs: number): Promise<void>;
  /** Writes outcomes: COMPLETED tombstones the spool record, FAILED dead-letters it; one transaction. */
  recordDocuments(jobId: string, updates: DocumentUpdate[]): Promise<void>;
  /** Gives a record back after a transient failure, to run again after `notBeforeMs`. */
  /** See `Spool.release`; `refund` keeps the lease off the attempt count. */
  release(seq: number, error: string | null, notBeforeMs: number, options?: { refund?: boolean }): Promise<void>;
  setCurrentStage(jobId: string, stage: string | null): Promise<void>;
  /**
   * Ends jobs nobody will end otherwise: sealed jobs with no live record left (their last worker
   * died between writing outcomes and finishing the job), and unsealed jobs whose admitting
   * process is gone (FAILED: not every document was accepted). Returns how many it ended.
   */
  finishIdleJobs(isAlive: (owner: string) => boolean): Promise<number>;
  /** Jobs whose documents are still being admitted (not sealed, not ended). */
  admittingJobs(): Promise<number>;
  /** How many jobs are in each state (every state present, 0 when none): the `ledger_jobs` gauge. */
  countJobsByState(): Promise<Record<JobState, number>>;
  /** Finishes a sealed job with no live records left: COMPLETED, or FAILED if every document failed. */
  finishIfDone(jobId: string): Promise<Job | null>;
  cancelJob(jobId: string): Promise<Job>;
  /** Makes a job runnable again; only documents that did not complete will run. */
  resumeJob(jobId: string): Promise<Job>;
  /** Frees the leases of owners whose process is gone; returns how many records that recovered. */
  recover(isAlive: (owner: string) => boolean): Promise<number>;
  retryDeadLetter(seq: number): Promise<boolean>;
  dropDeadLetter(seq: number): Promise<boolean>;
  spool(): Spool;
  loadCheckpoint(jobId: string, docId: string, node: string): Promise<Record<string, unknown> | undefined>;
  saveCheckpoint(jobId: string, docId: string, node: string, output: Record<string, unknown>): Promise<void>;
}
