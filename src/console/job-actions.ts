import type { Job } from "../contracts/job.ts";
import { api } from "./api.ts";

/** Cancel stops a job that is still to run or running. */
export const canCancel = (job: Pick<Job, "state">) => job.state === "PENDING" || job.state === "PROCESSING";

/** Resume re-runs a job's failed and cancelled documents (a completed job with none has nothing to resume). */
export const canResume = (job: Pick<Job, "state" | "failed" | "cancelled">) =>
  job.state === "FAILED" || job.state === "CANCELLED" || (job.state === "COMPLETED" && job.failed + job.cancelled > 0);

export const cancelJob = (id: string) => api<Job>(`/v1/jobs/${encodeURIComponent(id)}/cancel`, { method: "POST" });
export const resumeJob = (id: string) => api<Job>(`/v1/jobs/${encodeURIComponent(id)}/resume`, { method: "POST" });
/** The job's counts only (`limit=0`): what a live refresh needs. */
export const jobCounts = (id: string) => api<Job>(`/v1/jobs/${encodeURIComponent(id)}?limit=0`);
