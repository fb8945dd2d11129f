import type { Job, JobState } from "./job.ts";

/**
 * The job transitions the engine reports, in the order a job goes through them.
 *
 * @example
 * JOB_EVENT_TYPES.includes("job.cancelled"); // true
 */
export const JOB_EVENT_TYPES = ["job.created", "job.started", "job.completed", "job.failed", "job.cancelled"] as const;
export type JobEventType = (typeof JOB_EVENT_TYPES)[number];

/**
 * A job transition, as the engine and the worker report it; observability turns these into
 * CloudEvents (`io.sluice.job.*`, subject = job id) and OpenLineage job runs.
 *
 * - `job.created`: the ledger recorded the job; its documents are being admitted.
 * - `job.started`: a worker began the job's first document (each worker process reports it once per job it works on).
 * - `job.completed` / `job.failed`: the process that recorded the job's last outcome (or sealed it) saw it end.
 * - `job.cancelled`: the job was cancelled through `Sluice.cancelJob`.
 */
export interface JobEvent {
  type: JobEventType;
  jobId: string;
  /** ms since the epoch. */
  at: number;
  collection: string;
  pipeline: string;
  /** `name@yaml-sha` of the pipeline, where the reporter knows it. */
  pipelineVersion?: string;
  tenant?: string;
  /** W3C trace context; absent, one derived from the job id is used (see `jobTraceparent`). */
  traceparent?: string;
  state?: JobState;
  total?: number;
  done?: number;
  failed?: number;
  cancelled?: number;
  error?: string | null;
  /** `job.created` only: the paths given to ingest, resolved (empty for documents sent inline). */
  paths?: string[];
}

/**
 * Builds the event for a transition from the ledger's view of the job. A `tenant` on the job
 * record (multi-tenant ledgers) is carried over.
 *
 * @example
 * events.publish(jobEvent("job.created", job, { pipelineVersion: "auto@3f2a9c1d0b7e", paths: ["/srv/docs"] }));
 */
export function jobEvent(
  type: JobEventType,
  job: Job & { tenant?: string },
  extra: Pick<JobEvent, "pipelineVersion" | "paths" | "traceparent"> = {},
): JobEvent {
  return {
    type,
    jobId: job.id,
    at: Date.now(),
    collection: job.collection,
    pipeline: job.pipeline,
    ...(job.tenant ? { tenant: job.tenant } : {}),
    state: job.state,
    total: job.total,
    done: job.done,
    failed: job.failed,
    cancelled: job.cancelled,
    error: job.error,
    ...extra,
  };
}

/**
 * The event that reports a job reaching `state`, or null while it has not ended.
 *
 * @example
 * jobEndType("FAILED"); // "job.failed"
 */
export function jobEndType(state: JobState): JobEventType | null {
  if (state === "COMPLETED") return "job.completed";
  if (state === "FAILED") return "job.failed";
  if (state === "CANCELLED") return "job.cancelled";
  return null;
}
