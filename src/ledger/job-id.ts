import { randomBytes } from "node:crypto";

/**
 * A new job id: sortable and unique, time first so listings and logs read in order. Every ledger
 * adapter makes its ids here, so ids look the same whatever the database.
 *
 * @example
 * newJobId(); // "job_0m3x9k2ab4f1c2d3e4f"
 */
export function newJobId(): string {
  return `job_${Date.now().toString(36).padStart(9, "0")}${randomBytes(5).toString("hex")}`;
}
