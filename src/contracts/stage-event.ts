/** A stage transition, as the engine reports it; observability turns these into CloudEvents. */
export interface StageEvent {
  /** `gate.suspended`: the stage parked the document until a condition holds (`reason` says which). */
  type: "stage.started" | "stage.completed" | "stage.failed" | "stage.retrying" | "stage.skipped" | "gate.suspended";
  jobId: string;
  docId: string;
  stage: string;
  attempt: number;
  at: number;
  durationMs?: number;
  error?: { code: string; message: string };
  /** Why a gate suspended the document, in plain words. */
  reason?: string;
  /** Filled in by the worker: the collection and the pipeline version (`name@yaml-sha`) of the run. */
  collection?: string;
  pipelineVersion?: string;
  /** The tenant the job belongs to; CloudEvents carry `"default"` when it is absent. */
  tenant?: string;
  /** W3C trace context of the document run the stage belongs to (`00-<trace-id>-<span-id>-<flags>`). */
  traceparent?: string;
}

export type StageEventListener = (event: StageEvent) => void;
