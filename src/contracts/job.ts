import { z } from "zod";
import { DOC_STATES, JOB_STATES } from "./job-states.ts";

export { DOC_STATES, JOB_STATES };

export const JobStateSchema = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobStateSchema>;

/** WAITING: parked by the queue until a condition holds or a time passes (no worker holds it). */
export type DocState = (typeof DOC_STATES)[number];

/** The `error_code` under which a WAITING document's record keeps why it waits (it is no error). */
export const WAITING_CODE = "WAITING";

/**
 * WAITING: the stage suspended the document (a two-phase gate: its `error` holds why).
 * REACHED: not a stage but a milestone a stage recorded (`pdf_downloaded`, `pdf_ir_ready`), at `finishedAt`.
 */
export const STAGE_STATES = ["RUNNING", "COMPLETED", "FAILED", "SKIPPED", "WAITING", "REACHED"] as const;
export type StageState = (typeof STAGE_STATES)[number];

/** A job's request: what to ingest, into which collection, through which pipeline. */
export const JobSpecSchema = z.object({
  collection: z.string(),
  pipeline: z.string().default("auto"),
  paths: z.array(z.string()).default([]),
  /** The pipeline version (`name@hash`) the job was created with: it runs that snapshot. */
  pipelineVersion: z.string().optional(),
});
export type JobSpec = z.infer<typeof JobSpecSchema>;

export interface StageRecord {
  stage: string;
  state: StageState;
  attempts: number;
  startedAt: string | null;
  finishedAt: string | null;
  error: string | null;
}

export interface JobDocument {
  docId: string;
  source: string;
  state: DocState;
  currentStage: string | null;
  attempts: number;
  error: { code: string; message: string } | null;
  outcome: string | null;
  /** While the document is WAITING: why, in plain words (the stage's reason, with its deadline). */
  waiting?: { stage: string | null; reason: string };
  stages?: StageRecord[];
}

/** The ledger's view of one job. `--json` of `sluice jobs <id>` prints this shape. */
export interface Job {
  id: string;
  collection: string;
  pipeline: string;
  /**
   * The pipeline version (`name@<12 hex of its YAML's sha256>`) the job was created with, whose
   * snapshot its documents run; absent for jobs from before snapshots.
   */
  pipelineVersion?: string;
  state: JobState;
  currentStage: string | null;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  /** Documents parked until a condition holds or a time passes. */
  waiting: number;
  error: string | null;
  createdAt: string;
  updatedAt: string;
  documents?: JobDocument[];
}

export function isTerminal(state: JobState): boolean {
  return state === "COMPLETED" || state === "FAILED" || state === "CANCELLED";
}

/** One stage of a job, over every document that reached it. */
export interface StageSummary {
  stage: string;
  /** Documents with a record of this stage. */
  documents: number;
  completed: number;
  failed: number;
  skipped: number;
  waiting: number;
  running: number;
  /** Attempts beyond the first, over all documents (retries). */
  retries: number;
  /** Durations of the finished runs (start to end), in ms; null when none finished. */
  p50Ms: number | null;
  p95Ms: number | null;
  maxMs: number | null;
}
