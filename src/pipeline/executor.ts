import { BrokenCircuitError, TaskCancelledError } from "cockatiel";
import { isSluiceError, SluiceError, toSluiceError } from "../contracts/errors.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import { parentContext, type Span, withSpan } from "../observability/tracing.ts";
import type { CompiledNode, CompiledPipeline } from "./build.ts";
import { isControlSignal, isSkipDocument, isWaitFor, SkipDocument } from "./control.ts";
import { PORT_TYPES } from "./port-types.ts";

/** Saved stage outputs, so that a resumed document starts after its last good stage. */
export interface CheckpointStore {
  load(node: string): Promise<Record<string, unknown> | undefined>;
  save(node: string, output: Record<string, unknown>): Promise<void>;
}

/** Stages faster than this are cheaper to re-run than to checkpoint. */
export const CHECKPOINT_MIN_MS = 50;

export interface RunContext {
  jobId: string;
  docId: string;
  collection: string;
  signal?: AbortSignal;
  onEvent?: (event: StageEvent) => void;
  /** Called before every stage; throws (JOB_CANCELLED) to stop the run between stages. */
  beforeStage?: (stage: string) => void | Promise<void>;
  checkpoints?: CheckpointStore;
  /** Minimum stage duration worth a checkpoint (default CHECKPOINT_MIN_MS). */
  checkpointMinMs?: number;
  /** W3C trace context of this run; stages pass it to model calls. */
  traceparent?: string;
  tenantId?: string;
  /** When the document was accepted (epoch ms); stages' gates count their deadlines from it. */
  acceptedAt?: number;
  /** A stage recorded a milestone (`pdf_ir_ready`). */
  onMark?: (milestone: string, stage: string) => void;
}

export type RunResult =
  | { status: "completed"; outputs: Map<string, Record<string, unknown>> }
  | { status: "skipped"; outcome: string; stage: string; outputs: Map<string, Record<string, unknown>> };

/**
 * Checks a stage's inputs or outputs against their port types. `trusted` names inputs fed by
 * another stage's output, which was checked when produced (build() makes connected types match):
 * only pipeline inputs and missing values are parsed again.
 */
function validatePorts(
  node: CompiledNode,
  side: "input" | "output",
  values: Record<string, unknown>,
  trusted?: ReadonlySet<string>,
): Record<string, unknown> {
  const ports =
    side === "input"
      ? node.inputs.map((b) => [b.port, b.type, b.optional] as const)
      : Object.entries(node.definition.outputs).map(([p, t]) => [p, t.replace(/\?$/, ""), t.endsWith("?")] as const);
  const checked: Record<string, unknown> = {};
  for (const [port, type, optional] of ports) {
    const value = values[port];
    if (value === undefined && optional) continue;
    if (value !== undefined && trusted?.has(port)) {
      checked[port] = value;
      continue;
    }
    const result = PORT_TYPES[type as keyof typeof PORT_TYPES].safeParse(value);
    if (!result.success) {
      const issue = result.error.issues[0];
      const where = issue?.path.length ? ` at ${issue.path.join(".")}` : "";
      throw new SluiceError(
        "VALIDATION_FAILED",
        `stage "${node.name}" ${side} "${port}" is not a valid ${type}${where}: ${issue?.message ?? "invalid"}`,
        {
          details: { stage: node.name, port, side },
        },
      );
    }
    checked[port] = result.data;
  }
  return checked;
}

function translate(err: unknown, node: CompiledNode, signal: AbortSignal): SluiceError {
  // An abort from outside (cancel, a failed sibling) surfaces as the reason it was aborted for.
  if (signal.aborted)
    return toSluiceError(signal.reason ?? new SluiceError("JOB_CANCELLED", "run aborted"), "JOB_CANCELLED");
  // The policy's deadline aborts the stage's signal; the stage then throws an AbortError.
  if (err instanceof TaskCancelledError || (err instanceof Error && err.name === "AbortError"))
    return new SluiceError("STAGE_TIMEOUT", `stage "${node.name}" timed out`, { cause: err });
  if (err instanceof BrokenCircuitError) {
    return new SluiceError(
      "CIRCUIT_OPEN",
      `stage "${node.name}": circuit breaker of policy "${node.policyName}" is open after repeated failures`,
      { cause: err },
    );
  }
  return toSluiceError(err, "STAGE_FAILED");
}

/**
 * Runs one document through a compiled pipeline. Independent branches (dense ∥ sparse) run at
 * once; the first failure aborts the others and is re-thrown as a SluiceError. Every boundary
 * is validated (pipeline inputs, each stage's outputs and checkpoints read back), every
 * transition reported through `onEvent`.
 *
 * @example
 * const result = await runPipeline(pipeline, { "load.ref": ref }, { jobId, docId: ref.id, collection: "default" });
 */
export async function runPipeline(
  pipeline: CompiledPipeline,
  runInputs: Record<string, unknown>,
  ctx: RunContext,
): Promise<RunResult> {
  const controller = new AbortController();
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, controller.signal]) : controller.signal;
  const outputs = new Map<string, Record<string, unknown>>();
  const running = new Map<string, Promise<Record<string, unknown>>>();
  // Every event carries the run's trace context, so event consumers can join the trace.
  const emit = (event: Omit<StageEvent, "jobId" | "docId" | "at">) =>
    ctx.onEvent?.({
      ...event,
      jobId: ctx.jobId,
      docId: ctx.docId,
      at: Date.now(),
      ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
    });

  // With tracing on: one span per stage, a child of the active span (the worker's document span)
  // or, when none is active, of the run's traceparent.
  const parent = parentContext(ctx.traceparent);
  const runNode = async (node: CompiledNode): Promise<Record<string, unknown>> => {
    await Promise.all(node.dependsOn.map((d) => running.get(d)!));
    if (signal.aborted)
      throw signal.reason instanceof Error ? signal.reason : new SluiceError("JOB_CANCELLED", "run aborted");
    const attributes = {
      "sluice.stage": node.name,
      "sluice.job_id": ctx.jobId,
      "sluice.doc_id": ctx.docId,
      "sluice.collection": ctx.collection,
      ...(node.policyName ? { "sluice.policy": node.policyName } : {}),
    };
    return withSpan(
      `stage ${node.name}`,
      { attributes, expected: isControlSignal, ...(parent ? { parent } : {}) },
      (span) => runStage(node, span),
    );
  };

  const runStage = async (node: CompiledNode, span: Span): Promise<Record<string, unknown>> => {
    await ctx.beforeStage?.(node.name);

    if (node.checkpoint && ctx.checkpoints) {
      const stored = await ctx.checkpoints.load(node.name);
      // Read back from the ledger: checked (and revived) as the stage's output would be.
      const saved = stored && validatePorts(node, "output", stored);
      if (saved) {
        emit({ type: "stage.skipped", stage: node.name, attempt: 0 });
        span.setAttributes({ "sluice.attempt": 0, "sluice.outcome": "checkpoint" });
        outputs.set(node.name, saved);
        return saved;
      }
    }

    const raw: Record<string, unknown> = {};
    const fromStages = new Set<string>();
    for (const binding of node.inputs) {
      if (!binding.from) continue;
      if ("runInput" in binding.from) raw[binding.port] = runInputs[binding.from.runInput];
      else {
        raw[binding.port] = outputs.get(binding.from.node)?.[binding.from.port];
        fromStages.add(binding.port);
      }
    }
    const input = validatePorts(node, "input", raw, fromStages);
    const started = performance.now();
    emit({ type: "stage.started", stage: node.name, attempt: 1 });
    let lastAttempt = 1;
    try {
      const call = (attemptSignal: AbortSignal, attempt: number) => {
        lastAttempt = attempt;
        if (attempt > 1) {
          emit({ type: "stage.retrying", stage: node.name, attempt });
          span.addEvent("retry", { "sluice.attempt": attempt });
        }
        return node.instance.execute(input, {
          jobId: ctx.jobId,
          docId: ctx.docId,
          collection: ctx.collection,
          signal: attemptSignal,
          attempt,
          ...(node.timeoutMs !== null ? { deadline: Date.now() + node.timeoutMs } : {}),
          ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
          ...(ctx.tenantId ? { tenantId: ctx.tenantId } : {}),
          ...(ctx.acceptedAt !== undefined ? { acceptedAt: ctx.acceptedAt } : {}),
          mark: (milestone: string) => ctx.onMark?.(milestone, node.name),
        });
      };
      const produced = node.policy
        ? // The policy's signal derives from the run's (each part passes on or derives from the one it got).
          await node.policy.execute((c) => call(c.signal, (c.attempt ?? 0) + 1), signal)
        : await call(signal, 1);
      const output = validatePorts(node, "output", produced);
      // A checkpoint costs a durable write; it only pays for stages slower than that write.
      if (
        node.checkpoint &&
        ctx.checkpoints &&
        performance.now() - started >= (ctx.checkpointMinMs ?? CHECKPOINT_MIN_MS)
      )
        await ctx.checkpoints.save(node.name, output);
      outputs.set(node.name, output);
      emit({
        type: "stage.completed",
        stage: node.name,
        attempt: lastAttempt,
        durationMs: performance.now() - started,
      });
      span.setAttributes({ "sluice.attempt": lastAttempt, "sluice.outcome": "completed" });
      return output;
    } catch (err) {
      if (isWaitFor(err)) {
        // Parked, not failed: the queue runs the document again once the condition holds.
        span.setAttributes({ "sluice.attempt": lastAttempt, "sluice.outcome": `waiting:${err.condition}` });
        err.stage ??= node.name;
        emit({ type: "gate.suspended", stage: node.name, attempt: lastAttempt, reason: err.message });
        throw err;
      }
      if (isSkipDocument(err)) {
        emit({
          type: "stage.completed",
          stage: node.name,
          attempt: lastAttempt,
          durationMs: performance.now() - started,
        });
        span.setAttributes({ "sluice.attempt": lastAttempt, "sluice.outcome": `skipped:${err.outcome}` });
        throw err;
      }
      const error = translate(err, node, signal);
      span.setAttributes({ "sluice.attempt": lastAttempt, "sluice.outcome": "failed" });
      emit({
        type: "stage.failed",
        stage: node.name,
        attempt: lastAttempt,
        durationMs: performance.now() - started,
        error: { code: error.code, message: error.message },
      });
      throw error;
    }
  };

  for (const node of pipeline.nodes) {
    const p = runNode(node);
    running.set(node.name, p);
    // Stop sibling branches as soon as one fails; the error itself is collected below.
    p.catch((err: unknown) => controller.abort(err));
  }
  const settled = await Promise.allSettled(running.values());
  const failures = settled.flatMap((s) => (s.status === "rejected" ? [s.reason as unknown] : []));
  if (failures.length > 0) {
    const skip = failures.find((f): f is SkipDocument => isSkipDocument(f));
    if (skip) {
      const stage = [...running.keys()].find((n) => !outputs.has(n)) ?? "";
      return { status: "skipped", outcome: skip.outcome, stage, outputs };
    }
    const wait = failures.find(isWaitFor);
    if (wait) throw wait;
    // Prefer the root cause over the aborts it caused in sibling branches.
    const root = failures.find((f) => isSluiceError(f) && f.code !== "JOB_CANCELLED") ?? failures[0];
    throw toSluiceError(root, "STAGE_FAILED");
  }
  return { status: "completed", outputs };
}
