import type { Job } from "../contracts/job.ts";

/** What the console shows of a job's pace. */
export interface Progress {
  /** Documents that reached an end: done, failed or cancelled. */
  finished: number;
  /** Share of `total` finished, 0–1. */
  fraction: number;
  elapsedMs: number;
  /** Finished documents per second since the job was created. */
  perSecond: number;
  /** Time left at that pace; null when the job has ended or has no pace yet. */
  etaMs: number | null;
}

export const isTerminal = (state: Job["state"]) => state === "COMPLETED" || state === "FAILED" || state === "CANCELLED";

/**
 * A job's progress at `now`: an ended job's clock stops at its last update.
 *
 * @example
 * progress({ ...job, total: 10, done: 5 }, Date.now()).fraction; // 0.5
 */
export function progress(
  job: Pick<Job, "state" | "total" | "done" | "failed" | "cancelled" | "createdAt" | "updatedAt">,
  now: number,
): Progress {
  const finished = job.done + job.failed + job.cancelled;
  const end = isTerminal(job.state) ? Date.parse(job.updatedAt) : now;
  const elapsedMs = Math.max(0, end - Date.parse(job.createdAt));
  const perSecond = elapsedMs > 0 ? finished / (elapsedMs / 1000) : 0;
  const left = Math.max(0, job.total - finished);
  return {
    finished,
    fraction: job.total > 0 ? Math.min(1, finished / job.total) : isTerminal(job.state) ? 1 : 0,
    elapsedMs,
    perSecond,
    etaMs: isTerminal(job.state) || perSecond <= 0 ? null : (left / perSecond) * 1000,
  };
}
