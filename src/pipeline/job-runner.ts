import { SluiceError, toSluiceError } from "../contracts/errors.ts";
import type { Job, StageRecord } from "../contracts/index.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import type { DocumentUpdate, Ledger } from "../ledger/ledger.ts";
import type { CompiledPipeline } from "./build.ts";
import { runPipeline } from "./executor.ts";

export interface DocumentProgress {
  jobId: string;
  docId: string;
  state: "COMPLETED" | "FAILED";
  outcome: string | null;
  error: { code: string; message: string } | null;
}

export interface JobRunnerOptions {
  /** Worker identity written to the job's lease. */
  owner: string;
  /** Documents in flight at once. */
  concurrency: number;
  leaseMs?: number;
  /** How often the runner checks for cancellation, renews its lease and publishes progress. */
  heartbeatMs?: number;
  onDocument?: (progress: DocumentProgress) => void;
  onEvent?: (event: StageEvent) => void;
}

const FLUSH_EVERY = 64;

/**
 * Runs one claimed job: streams its pending documents through the pipeline, `concurrency` at a
 * time, records each outcome in the ledger, and stops between stages when the job is cancelled.
 * A failing document fails alone; the job goes on.
 *
 * @example
 * const job = await ledger.claimJob(owner, 30_000);
 * if (job) await new JobRunner(ledger, () => pipeline, { owner, concurrency: 8 }).run(job);
 */
export class JobRunner {
  readonly #ledger: Ledger;
  readonly #pipelineFor: (name: string) => Promise<CompiledPipeline>;
  readonly #options: Required<Omit<JobRunnerOptions, "onDocument" | "onEvent">> & Pick<JobRunnerOptions, "onDocument" | "onEvent">;

  constructor(ledger: Ledger, pipelineFor: (name: string) => Promise<CompiledPipeline>, options: JobRunnerOptions) {
    this.#ledger = ledger;
    this.#pipelineFor = pipelineFor;
    this.#options = { leaseMs: 30_000, heartbeatMs: 250, ...options };
  }

  async run(job: Job, signal?: AbortSignal): Promise<Job> {
    const { owner, concurrency, leaseMs, heartbeatMs } = this.#options;
    const ledger = this.#ledger;
    let pipeline: CompiledPipeline;
    try {
      pipeline = await this.#pipelineFor(job.pipeline);
      await pipeline.warmUp();
    } catch (err) {
      const e = toSluiceError(err);
      return ledger.finishJob(job.id, owner, `${e.code}: ${e.message}`);
    }

    const controller = new AbortController();
    const stop = (reason: SluiceError) => {
      if (!controller.signal.aborted) controller.abort(reason);
    };
    signal?.addEventListener("abort", () => stop(new SluiceError("JOB_CANCELLED", "worker is shutting down")), { once: true });

    let currentStage: string | null = null;
    let publishedStage: string | null = null;
    let buffer: DocumentUpdate[] = [];
    let flushing: Promise<void> = Promise.resolve();
    const flush = () => {
      const batch = buffer;
      buffer = [];
      flushing = flushing.then(() => ledger.recordDocuments(job.id, batch));
      return flushing;
    };

    const heartbeat = setInterval(() => {
      void (async () => {
        const state = await ledger.jobState(job.id);
        if (state !== "PROCESSING") stop(new SluiceError("JOB_CANCELLED", `job ${job.id} was ${state.toLowerCase()}`));
        else await ledger.renewLease(job.id, owner, leaseMs);
        if (currentStage !== publishedStage) {
          publishedStage = currentStage;
          await ledger.setCurrentStage(job.id, currentStage);
        }
        if (buffer.length > 0) await flush();
      })().catch(() => undefined);
    }, heartbeatMs);

    const runOne = async (docId: string, ref: unknown): Promise<void> => {
      const stages = new Map<string, StageRecord>();
      const onEvent = (event: StageEvent) => {
        this.#options.onEvent?.(event);
        const iso = new Date(event.at).toISOString();
        const rec = stages.get(event.stage) ?? { stage: event.stage, state: "RUNNING" as const, attempts: 0, startedAt: iso, finishedAt: null, error: null };
        rec.attempts = Math.max(rec.attempts, event.attempt);
        if (event.type === "stage.started") currentStage = event.stage;
        if (event.type === "stage.completed") Object.assign(rec, { state: "COMPLETED", finishedAt: iso });
        if (event.type === "stage.skipped") Object.assign(rec, { state: "SKIPPED", finishedAt: iso });
        if (event.type === "stage.failed") Object.assign(rec, { state: "FAILED", finishedAt: iso, error: event.error ? `${event.error.code}: ${event.error.message}` : null });
        stages.set(event.stage, rec);
      };
      let update: DocumentUpdate;
      try {
        const result = await runPipeline(
          pipeline,
          { [pipeline.runInputs[0]!]: ref },
          {
            jobId: job.id,
            docId,
            collection: job.collection,
            signal: controller.signal,
            onEvent,
            beforeStage: () => controller.signal.throwIfAborted(),
            checkpoints: {
              load: (node) => ledger.loadCheckpoint(job.id, docId, node),
              save: (node, output) => ledger.saveCheckpoint(job.id, docId, node, output),
            },
          },
        );
        const outcome = result.status === "skipped" ? result.outcome : pickOutcome(result.outputs);
        update = { docId, state: "COMPLETED", outcome, error: null, stages: [...stages.values()] };
      } catch (err) {
        const e = toSluiceError(err);
        // A cancelled document stays as cancel left it; it runs again on resume.
        if (e.code === "JOB_CANCELLED" || controller.signal.aborted) return;
        update = { docId, state: "FAILED", outcome: null, error: { code: e.code, message: e.message }, stages: [...stages.values()] };
      }
      buffer.push(update);
      this.#options.onDocument?.({ jobId: job.id, docId, state: update.state as "COMPLETED" | "FAILED", outcome: update.outcome ?? null, error: update.error ?? null });
      if (buffer.length >= FLUSH_EVERY) await flush();
    };

    try {
      let afterSeq = -1;
      const inFlight = new Set<Promise<void>>();
      for (;;) {
        if (controller.signal.aborted) break;
        const page = await ledger.pendingDocuments(job.id, afterSeq, 256);
        if (page.length === 0) break;
        for (const doc of page) {
          afterSeq = doc.seq;
          if (controller.signal.aborted) break;
          const p = runOne(doc.docId, doc.ref).finally(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= concurrency) await Promise.race(inFlight);
        }
      }
      await Promise.all(inFlight);
      await flush();
    } finally {
      clearInterval(heartbeat);
    }
    return ledger.finishJob(job.id, owner);
  }
}

function pickOutcome(outputs: Map<string, Record<string, unknown>>): string | null {
  for (const output of outputs.values()) {
    const result = output["result"] as { outcome?: unknown } | undefined;
    if (result && typeof result.outcome === "string") return result.outcome;
  }
  return null;
}
