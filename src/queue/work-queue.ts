import type { StageRecord } from "../contracts/index.ts";
import type { AdmittedDocument, Lane, QueueStats } from "../contracts/spool.ts";

export { LANES, DEFAULT_LANE_WEIGHTS, type Lane, type AdmittedDocument, type QueueStats } from "../contracts/spool.ts";

/** One spool record as a worker leases it. */
export interface Lease {
  seq: number;
  jobId: string;
  docId: string;
  lane: Lane;
  /** Attempts spent so far, this lease included (refunds and crashes it did not cause are not counted). */
  attempts: number;
  /** Times a worker process died while running this document alone. */
  crashes: number;
  /** A process died while this record was in flight: it must run alone (see {@link WorkQueue.isolate}). */
  suspect: boolean;
  createdMs: number;
  /** The encoded envelope (msgpack, versioned). */
  envelope: Uint8Array;
}

/** A document's end, written with its spool record's in one step. */
export interface DocumentOutcome {
  seq: number;
  jobId: string;
  docId: string;
  /** What the index write did (`inserted`, `replaced`, `unchanged`…); null for a dead letter. */
  outcome?: string | null;
  /** The reason, for a dead letter. */
  error?: { code: string; message: string } | null;
  stages: StageRecord[];
}

export interface LeaseOptions {
  /** Only this job's records (a foreground `ingest --wait`). */
  jobId?: string;
  /** `only`: suspects (one is run alone); `exclude` (default): everything else. */
  suspects?: "only" | "exclude";
  weights?: Readonly<Record<Lane, number>>;
  now?: number;
}

export interface ReleaseOptions {
  /** Only while this owner holds the lease (a worker whose lease another process took hands back nothing). */
  owner?: string;
  /** The failure that sent it back (kept as its last error). */
  error?: string | null;
  /** Not leased again before this time (epoch ms). */
  notBefore: number;
  /** The lease does not count toward the attempt limit: the document never reached the work that could fail on it. */
  refund?: boolean;
}

export interface WaitOptions {
  /** Only while this owner holds the lease (see {@link ReleaseOptions.owner}). */
  owner?: string;
  /** A named condition (`pdf-ready:<docId>`); {@link WorkQueue.signal} with the same name wakes it. */
  condition: string;
  /** Wake at this time (epoch ms) even if the condition never holds. */
  until?: number;
  /** Why it waits, in plain words (shown in `jobs <id>`). */
  reason?: string;
  /** The stage that suspended it (the document's current stage while it waits). */
  stage?: string;
  /** The run's stage records so far (those before the gate, the gate's own as WAITING, milestones). */
  stages?: StageRecord[];
}

/** What {@link WorkQueue.recover} did with leases whose owner is gone or whose lease expired. */
export interface Recovered {
  /** Records that were in flight with others when their process died: they run alone next, no attempt spent. */
  suspects: number;
  /** Records whose process died while they ran alone: an attempt spent, a crash counted. */
  blamed: number;
}

export interface DeadLetter {
  seq: number;
  jobId: string;
  docId: string;
  lane: Lane;
  attempts: number;
  error: string;
  createdMs: number;
}

/**
 * The work-queue port, written from the worker's side. Adapters sit side by side (`sqlite/`,
 * `postgres/`, `bullmq/`) and pass one conformance suite (`work-queue.conformance.ts`).
 *
 * The queue is the durable record of every accepted document. The SQLite and PostgreSQL adapters
 * share their database with the ledger: `admit`, `lease`, `complete` and `deadLetter` update the
 * job's document records in the same transaction as the spool record, so a document's state never
 * disagrees with its record. Nothing outside the adapters touches spool tables.
 *
 * Attempts: a lease spends one; a refunded release gives it back; a crash gives it back unless the
 * document was alone in its process (then it is to blame, and `crashes` counts it).
 */
export interface WorkQueue {
  open(): Promise<void>;
  close(): Promise<void>;
  /** Appends accepted documents, with the job's document records, durably, in one transaction. */
  admit(jobId: string, documents: AdmittedDocument[]): Promise<void>;
  /** Leases up to `max` records lane-fairly; their documents and jobs become PROCESSING. */
  lease(owner: string, max: number, leaseMs: number, options?: LeaseOptions): Promise<Lease[]>;
  /** Extends this owner's leases; returns the seqs it no longer holds (recovered, cancelled). */
  renew(owner: string, seqs: readonly number[], leaseMs: number): Promise<number[]>;
  /** Marks a leased record as running alone in its process: if the process dies now, the record is to blame. */
  isolate(owner: string, seq: number): Promise<void>;
  /** Records outcomes and tombstones their records, in one transaction. */
  complete(outcomes: DocumentOutcome[]): Promise<void>;
  /** Records failures and moves their records to the dead-letter lane, in one transaction. */
  deadLetter(outcomes: DocumentOutcome[]): Promise<void>;
  /** Gives a leased record back, to be leased again no sooner than `notBefore`. */
  release(seq: number, options: ReleaseOptions): Promise<void>;
  /** Parks a leased record (no lease held, no attempt spent) until `signal(condition)` or `until`. */
  wait(seq: number, options: WaitOptions): Promise<void>;
  /** Wakes every record waiting on `condition`; returns how many. */
  signal(condition: string): Promise<number>;
  /**
   * Ends leases whose owner is gone (`isAlive` false) or whose lease expired: see {@link Recovered}.
   */
  recover(isAlive: (owner: string) => boolean, now?: number): Promise<Recovered>;
  /** Retires a job's live and waiting records (its job was cancelled); returns how many. */
  cancelJob(jobId: string): Promise<number>;
  /** Puts a job's cancelled and dead records back to work with fresh attempts; returns how many. */
  requeueJob(jobId: string): Promise<number>;
  /** Live records (waiting, leased or parked) of one job. */
  liveCount(jobId: string): Promise<number>;
  stats(now?: number): Promise<QueueStats>;
  deadLetters(limit?: number): Promise<DeadLetter[]>;
  /** Puts a dead letter back to work; returns its job, or null when `seq` is not a dead letter. */
  retryDeadLetter(seq: number): Promise<{ jobId: string; docId: string } | null>;
  dropDeadLetter(seq: number): Promise<boolean>;
  /** Deletes tombstoned records and returns the space; returns how many were reclaimed. */
  compact(): Promise<number>;
}

/** A record a dispatcher must hold a token for: ready now, or from `notBefore` on. */
export interface Dispatchable {
  seq: number;
  lane: Lane;
  /** Epoch ms; 0 when ready now. */
  notBefore: number;
}

/**
 * What a dispatcher (BullMQ) needs from the system-of-record queue beneath it: the SQLite and
 * PostgreSQL adapters implement it. Tokens in the dispatcher only say "look at record `seq`";
 * the record queue decides, so a stale or duplicated token does no harm.
 */
export interface RecordQueue extends WorkQueue {
  /** Leases exactly these records where they are ready (PENDING, due, not suspects); the others are left out. */
  claim(owner: string, seqs: readonly number[], leaseMs: number, now?: number): Promise<Lease[]>;
  /**
   * PENDING records (due now or later, suspects excluded), in seq order after `afterSeq`,
   * optionally of one job or of `seqs` only.
   */
  dispatchable(options: {
    afterSeq?: number;
    limit: number;
    jobId?: string;
    seqs?: readonly number[];
  }): Promise<Dispatchable[]>;
  /** Like {@link WorkQueue.signal}, returning the records it woke. */
  wake(condition: string): Promise<Dispatchable[]>;
}
