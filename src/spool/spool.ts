/** Lanes drain with weighted fairness: `bulk` cannot starve `high`, and `high` cannot starve the rest. */
export const LANES = ["high", "normal", "bulk"] as const;
export type Lane = (typeof LANES)[number];

export const DEFAULT_LANE_WEIGHTS: Readonly<Record<Lane, number>> = { high: 6, normal: 3, bulk: 1 };

/** One live spool record as a worker leases it. */
export interface SpoolRecord {
  seq: number;
  jobId: string;
  docId: string;
  lane: Lane;
  /** Leases so far, this one included. */
  attempts: number;
  createdMs: number;
  /** The encoded envelope (msgpack, versioned). */
  envelope: Uint8Array;
}

export interface NewSpoolRecord {
  jobId: string;
  docId: string;
  lane: Lane;
  envelope: Uint8Array;
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

export interface SpoolStats {
  /** Live records (waiting or leased) per lane. */
  pending: Record<Lane, number>;
  leased: number;
  /** Bytes of live envelopes. */
  bytes: number;
  /** Age of the oldest live record, 0 when none. */
  oldestAgeSeconds: number;
  dead: number;
  tombstoned: number;
}

export interface LeaseOptions {
  /** Only this job's records (a foreground `ingest --wait`). */
  jobId?: string;
  weights?: Readonly<Record<Lane, number>>;
  now?: number;
}

/**
 * The durable ingest log. Appends are durable when the call returns; workers lease records with
 * an expiry (a dead worker's records are leased again), a completed record is tombstoned, and a
 * record past its attempt limit moves to the dead-letter lane with its last error.
 */
export interface Spool {
  append(records: NewSpoolRecord[], now?: number): number[];
  lease(owner: string, max: number, leaseMs: number, options?: LeaseOptions): SpoolRecord[];
  tombstone(seqs: readonly number[]): void;
  /**
   * Gives a leased record back, to be leased again no sooner than `notBeforeMs`. With `refund`
   * the lease does not count toward the attempt limit: the document never reached the work that
   * could fail on it (an open circuit breaker, a callee pushing back).
   */
  release(seq: number, error: string | null, notBeforeMs: number, options?: { refund?: boolean }): void;
  deadLetter(seq: number, error: string): void;
  /** Ends the leases of owners that are gone (their process died); returns how many records that freed. */
  recover(isAlive: (owner: string) => boolean, now?: number): number;
  cancelJob(jobId: string): number;
  requeueJob(jobId: string): number;
  stats(now?: number): SpoolStats;
  deadLetters(limit?: number): DeadLetter[];
  retryDeadLetter(seq: number): boolean;
  dropDeadLetter(seq: number): boolean;
  /** Deletes tombstoned records and returns the space; returns how many were reclaimed. */
  compact(): number;
}
