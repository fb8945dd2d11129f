import type { DocumentRef, Job, JobSpec, JobState, StageRecord } from "../contracts/index.ts";

export interface PendingDocument {
  seq: number;
  docId: string;
  ref: DocumentRef;
}

/** The outcome of one document's run, written with its stage records in one transaction. */
export interface DocumentUpdate {
  docId: string;
  state: "COMPLETED" | "FAILED" | "PENDING";
  outcome?: string | null;
  error?: { code: string; message: string } | null;
  stages: StageRecord[];
}

export interface ListJobsOptions {
  limit?: number;
}

/**
 * The job ledger port: jobs, their documents and per-stage state. Adapters sit side by side
 * (`sqlite/`) and pass one conformance suite (`ledger.conformance.ts`).
 *
 * State machine — job: PENDING → PROCESSING → COMPLETED | FAILED | CANCELLED, and
 * CANCELLED | FAILED | COMPLETED-with-failures → PENDING again on resume.
 */
export interface Ledger {
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Creates a job and records its documents as they are enumerated. The job becomes claimable
   * only when enumeration finished; if it throws, the job is marked FAILED with the reason.
   */
  createJob(spec: JobSpec, documents: AsyncIterable<DocumentRef> | Iterable<DocumentRef>): Promise<Job>;
  getJob(jobId: string, options?: { documents?: boolean; stages?: boolean }): Promise<Job>;
  listJobs(options?: ListJobsOptions): Promise<Job[]>;
  /** Cheap state read for cancellation checks between stages. */
  jobState(jobId: string): Promise<JobState>;
  /** Claims one runnable job (PENDING, or PROCESSING whose lease expired) for `owner`. */
  claimJob(owner: string, leaseMs: number, jobId?: string): Promise<Job | null>;
  renewLease(jobId: string, owner: string, leaseMs: number): Promise<boolean>;
  /** Ends `owner`'s lease now (its process is known to be dead), so the job can be taken over. */
  expireLease(jobId: string, owner: string): Promise<boolean>;
  /** Documents of a job not yet completed or failed, in enumeration order, after `afterSeq`. */
  pendingDocuments(jobId: string, afterSeq: number, limit: number): Promise<PendingDocument[]>;
  recordDocuments(jobId: string, updates: DocumentUpdate[]): Promise<void>;
  setCurrentStage(jobId: string, stage: string | null): Promise<void>;
  /** Ends a run: COMPLETED, or FAILED when every document failed. A cancelled job stays CANCELLED. */
  finishJob(jobId: string, owner: string, error?: string): Promise<Job>;
  cancelJob(jobId: string): Promise<Job>;
  /** Makes a job runnable again; only documents that did not complete will run. */
  resumeJob(jobId: string): Promise<Job>;
  loadCheckpoint(jobId: string, docId: string, node: string): Promise<Record<string, unknown> | undefined>;
  saveCheckpoint(jobId: string, docId: string, node: string, output: Record<string, unknown>): Promise<void>;
}
