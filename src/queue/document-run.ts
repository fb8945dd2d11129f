import type { Logger } from "pino";
import { decodeEnvelope, envelopeToRef, type EnvelopeV1 } from "../contracts/envelope.ts";
import { isSluiceError, SluiceError, toSluiceError } from "../contracts/errors.ts";
import type { StageRecord } from "../contracts/index.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import { tenantOf } from "../contracts/tenant.ts";
import type { Ledger } from "../ledger/ledger.ts";
import type { CollectionLockShare, HeldCollectionLocks } from "../locks/held-collection-locks.ts";
import type { CompiledPipeline } from "../pipeline/build.ts";
import { runPipeline } from "../pipeline/executor.ts";
import { PORT_TYPES } from "../pipeline/port-types.ts";
import { storedTraceparent, withoutTraceparent } from "../observability/envelope-trace.ts";
import { withLogFields } from "../observability/log-context.ts";
import { newTraceparent } from "../observability/trace-context.ts";
import { activeTraceparent, contextFromTraceparent, traceparentFields, withSpan } from "../observability/tracing.ts";
import { decide, precheck, type Decision, type Interruption, type RequeuePolicy } from "./decide.ts";
import type { Lease } from "./work-queue.ts";

/** What a document run needs from the worker around it. */
export interface DocumentRunDeps {
  pipelineFor: (name: string, version?: string) => Promise<CompiledPipeline>;
  /** The requeue policy of a pipeline (its `requeue`, or the engine's default). */
  policyFor: (pipeline: CompiledPipeline) => RequeuePolicy;
  ledger: Pick<Ledger, "loadCheckpoint" | "saveCheckpoint">;
  locks?: HeldCollectionLocks | null;
  onEvent?: (event: StageEvent) => void;
  /** Called once the envelope is read: the job's first document here reports `job.started`. */
  onStart?: (lease: Lease, envelope: EnvelopeV1) => void;
  /** Called after warm-up and before the first stage: a suspect is marked as running alone here. */
  beforeRun?: (lease: Lease) => Promise<void>;
  logger?: Logger | undefined;
}

/** A run's end: what to do with the record, and what to write about the document. */
export interface RunSettlement {
  decision: Decision;
  outcome: string | null;
  stages: StageRecord[];
}

/** Reads why the run's signal was aborted: a cancelled job, or this worker stopping. */
function interruption(signal: AbortSignal): Interruption {
  if (!signal.aborted) return null;
  const reason: unknown = signal.reason;
  return isSluiceError(reason) && reason.code === "JOB_CANCELLED" ? "cancelled" : "stopping";
}

/** The index write's result, found by its port type (whatever its stage calls the port). */
function pickOutcome(pipeline: CompiledPipeline, outputs: Map<string, Record<string, unknown>>): string | null {
  for (const node of pipeline.nodes) {
    for (const [port, type] of Object.entries(node.definition.outputs)) {
      if (type.replace(/\?$/, "") !== "IndexResult") continue;
      const result = PORT_TYPES.IndexResult.safeParse(outputs.get(node.name)?.[port]);
      if (result.success) return result.data.outcome;
    }
  }
  return null;
}

/**
 * Runs one leased document: decode its envelope, check it may still run, take its collection's
 * lock, run the pipeline (in a span that continues the trace the gate stored), and turn the end
 * into one {@link Decision} with `decide`. Never throws: every end is a settlement.
 *
 * @example
 * const { decision, outcome, stages } = await runDocument(lease, controller.signal, deps);
 */
export async function runDocument(lease: Lease, signal: AbortSignal, deps: DocumentRunDeps): Promise<RunSettlement> {
  const stages = new Map<string, StageRecord>();
  const settle = (decision: Decision, outcome: string | null = null): RunSettlement => ({
    decision,
    outcome,
    stages: [...stages.values()],
  });
  let envelope: EnvelopeV1;
  try {
    envelope = decodeEnvelope(lease.envelope);
  } catch (err) {
    return settle({
      action: "dead-letter",
      code: "VALIDATION_FAILED",
      message: `spool record ${lease.seq}: ${toSluiceError(err).message}`,
    });
  }
  try {
    deps.onStart?.(lease, envelope);
  } catch (err) {
    // An observer's failure is not the document's.
    deps.logger?.warn({ err }, "onStart observer failed");
  }
  let pipeline: CompiledPipeline;
  let policy: RequeuePolicy;
  try {
    pipeline = await deps.pipelineFor(envelope.pipeline, envelope.version);
    policy = deps.policyFor(pipeline);
  } catch (err) {
    // The pipeline file went missing or became invalid after admission: not this document's fault to retry.
    const e = toSluiceError(err);
    return settle({ action: "dead-letter", code: e.code, message: e.message });
  }
  const early = precheck(lease, policy, Date.now(), envelope.source);
  if (early) return settle(early);

  const tenant = tenantOf(envelope.collection);
  const onEvent = (event: StageEvent) => {
    deps.onEvent?.({ ...event, collection: envelope.collection, pipelineVersion: envelope.version, tenant });
    if (event.type === "stage.failed")
      deps.logger?.warn(
        { stage: event.stage, attempt: event.attempt, code: event.error?.code, err: event.error?.message },
        "stage failed",
      );
    if (event.type === "stage.retrying")
      deps.logger?.info({ stage: event.stage, attempt: event.attempt }, "stage retrying");
    const iso = new Date(event.at).toISOString();
    const rec = stages.get(event.stage) ?? {
      stage: event.stage,
      state: "RUNNING" as const,
      attempts: 0,
      startedAt: iso,
      finishedAt: null,
      error: null,
    };
    rec.attempts = Math.max(rec.attempts, event.attempt);
    if (event.type === "stage.completed") Object.assign(rec, { state: "COMPLETED", finishedAt: iso });
    if (event.type === "stage.skipped") Object.assign(rec, { state: "SKIPPED", finishedAt: iso });
    if (event.type === "gate.suspended") Object.assign(rec, { state: "WAITING", error: event.reason ?? null });
    if (event.type === "stage.failed")
      Object.assign(rec, {
        state: "FAILED",
        finishedAt: iso,
        error: event.error ? `${event.error.code}: ${event.error.message}` : null,
      });
    stages.set(event.stage, rec);
  };

  let share: CollectionLockShare | null = null;
  try {
    // Refused (another live process ingests this collection): COLLECTION_LOCKED, refunded by decide.
    const controller = new AbortController();
    // Aborted already (its job cancelled, or the worker stopping, before the run began) or later.
    if (signal.aborted) controller.abort(signal.reason);
    else signal.addEventListener("abort", () => controller.abort(signal.reason), { once: true });
    share = deps.locks ? await deps.locks.enter(envelope.collection, controller) : null;
    await pipeline.warmUp();
    await deps.beforeRun?.(lease);
    const run = (traceparent: string) =>
      runPipeline(
        pipeline,
        { [pipeline.runInputs[0]!]: envelopeToRef(withoutTraceparent(envelope)) },
        {
          jobId: lease.jobId,
          docId: lease.docId,
          collection: envelope.collection,
          signal: controller.signal,
          onEvent,
          beforeStage: () => controller.signal.throwIfAborted(),
          // One trace per document run: model-server calls of every stage join it.
          traceparent,
          tenantId: tenant,
          acceptedAt: lease.createdMs,
          onMark: (milestone) => {
            const at = new Date().toISOString();
            stages.set(milestone, {
              stage: milestone,
              state: "REACHED",
              attempts: 0,
              startedAt: at,
              finishedAt: at,
              error: null,
            });
          },
          checkpoints: {
            load: (node) => deps.ledger.loadCheckpoint(lease.jobId, lease.docId, node),
            save: (node, output) => deps.ledger.saveCheckpoint(lease.jobId, lease.docId, node, output),
          },
        },
      );
    // The run continues the trace the gate stored (the request or ingest that admitted it), or starts its own.
    const stored = storedTraceparent(envelope);
    const attributes = {
      "sluice.job_id": lease.jobId,
      "sluice.doc_id": lease.docId,
      "sluice.collection": envelope.collection,
      "sluice.pipeline": envelope.version,
      "sluice.lease": lease.attempts,
    };
    const result = await withSpan(
      "sluice.document",
      { parent: contextFromTraceparent(stored), attributes },
      async () => {
        const traceparent = activeTraceparent() ?? stored ?? newTraceparent();
        return withLogFields({ ...traceparentFields(traceparent), tenant }, () => run(traceparent));
      },
    );
    return settle(
      decide(null, lease.attempts, policy),
      result.status === "skipped" ? result.outcome : pickOutcome(pipeline, result.outputs),
    );
  } catch (err) {
    const decision = decide(err, lease.attempts, policy, interruption(signal));
    if (decision.action === "dead-letter")
      deps.logger?.warn({ code: decision.code, err: decision.message }, "document failed");
    if (decision.action === "retry" || decision.action === "refund")
      deps.logger?.info(
        { err: decision.error, action: decision.action, backoff_ms: Math.round(decision.delayMs) },
        "document handed back to retry",
      );
    return settle(decision);
  } finally {
    await share?.exit();
  }
}

/** The error a cancelled run's signal carries. */
export function cancelled(jobId: string): SluiceError {
  return new SluiceError("JOB_CANCELLED", `job ${jobId} was cancelled`);
}
