import type { DocumentRef } from "./document.ts";

/** Lanes drain with weighted fairness: `bulk` cannot starve `high`, and `high` cannot starve the rest. */
export const LANES = ["high", "normal", "bulk"] as const;
export type Lane = (typeof LANES)[number];

export const DEFAULT_LANE_WEIGHTS: Readonly<Record<Lane, number>> = { high: 6, normal: 3, bulk: 1 };

/** A document the gate accepted: its reference, its lane and its encoded envelope. */
export interface AdmittedDocument {
  ref: DocumentRef;
  lane: Lane;
  envelope: Uint8Array;
}

export interface QueueStats {
  /** Live records (waiting to run, or leased) per lane. */
  pending: Record<Lane, number>;
  leased: number;
  /** Records parked until a condition holds or a time passes. */
  waiting: number;
  /** Records recovered from a crash, to run alone. */
  suspects: number;
  /** Bytes of live envelopes. */
  bytes: number;
  /** Age of the oldest live record, 0 when none. */
  oldestAgeSeconds: number;
  /** The same per lane: how long the longest-waiting record of each lane has been in the spool. */
  oldestAgeSecondsByLane: Record<Lane, number>;
  dead: number;
  tombstoned: number;
}
