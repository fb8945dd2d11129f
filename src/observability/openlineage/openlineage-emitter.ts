import { randomUUID } from "node:crypto";
import { SluiceError } from "../../contracts/errors.ts";
import type { EventSink, SluiceCloudEvent } from "../cloudevents.ts";
import { DeliveryQueue, type DeliveryStats } from "../delivery-queue.ts";
import {
  facet,
  modelFacet,
  nameUuid,
  OPENLINEAGE_SCHEMA_URL,
  type OpenLineageDataset,
  type OpenLineageFacet,
  type OpenLineageRunEvent,
  type RunEventType,
} from "./run-event.ts";

/**
 * Per-stage granularity. `job` (the default): one child run per stage per job, opened when the
 * stage first runs in this process and closed when the job ends, with document counts and time
 * summed over the job. `document`: one child run per stage of every document run, which is
 * 2 events × stages × documents: for small jobs or debugging only.
 */
export type LineageGranularity = "job" | "document";

export interface OpenLineageEmitterOptions {
  /** Collector base URL, e.g. `http://marquez:5000`. */
  url: string;
  /** Path appended to `url` (the OpenLineage HTTP transport's `endpoint`). Default `api/v1/lineage`. */
  endpoint?: string;
  /** Sent as `Authorization: Bearer <key>`: the value, resolved from the environment by the caller. */
  apiKey?: string;
  /** Job namespace. */
  namespace: string;
  /** Namespace of the output datasets (collections), e.g. `sluice://host/srv/sluice`. */
  datasetNamespace: string;
  /** Namespace of input paths, e.g. `file://host`. */
  sourceNamespace: string;
  granularity?: LineageGranularity;
  producer: string;
  /** The dense embedder's id (`use-lite@energetic-ai-0.2.0`), once the engine has one. */
  modelId?: () => string | undefined;
  timeoutMs?: number;
  maxQueue?: number;
  flushTimeoutMs?: number;
  /** Jobs tracked at once (job granularity); past it the oldest one's stage runs are closed as partial. */
  maxOpenJobs?: number;
  log?: (line: string) => void;
}

interface StageRun {
  runId: string;
  stage: string;
  started: number;
  completed: number;
  failed: number;
  skipped: number;
  retries: number;
  durationMs: number;
  lastError: string | null;
}

interface JobTrack {
  jobId: string;
  collection: string;
  inputs: OpenLineageDataset[] | null;
  stages: Map<string, StageRun>;
}

const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);
const num = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) ? v : 0);

/**
 * Turns Sluice's CloudEvents into OpenLineage RunEvents and POSTs them to a collector (the
 * OpenLineage HTTP transport: `POST <url>/<endpoint>`, JSON, optional bearer API key). An
 * ingest job is a run of job `ingest.<collection>` (run id: a UUID v5 of the job id, so every
 * process reporting on the job agrees): START when created, RUNNING when a worker starts it,
 * COMPLETE / FAIL / ABORT (cancelled) when it ends. Its input datasets are the ingested paths
 * (`file://<host>`, name = the path) or, for documents sent inline, `sluice-upload` / job id;
 * its output dataset is the collection (`sluice://<host><data dir>`, name = collection). Stages
 * are child runs (`ingest.<collection>.<stage>`, a `parent` facet naming the job run); see
 * `LineageGranularity`. Run facets: `sluice_job` (state and counts), `sluice_model` (the dense
 * embedder and its version) and, on FAIL, `errorMessage`.
 *
 * It is an `EventSink`: translation is synchronous and cheap, delivery is off the pipeline's
 * path behind a bounded `DeliveryQueue`, and a collector that is down only costs counted drops.
 *
 * @example
 * stream.addSink(new OpenLineageEmitter({ url: "http://marquez:5000", namespace: "sluice", datasetNamespace: "sluice://host-1/srv/sluice", sourceNamespace: "file://host-1", producer: "https://sluice.dev/sluice/0.1.0" }));
 */
export class OpenLineageEmitter implements EventSink {
  readonly name = "lineage";
  readonly #o: OpenLineageEmitterOptions & { granularity: LineageGranularity; maxOpenJobs: number };
  readonly #target: string;
  readonly #queue: DeliveryQueue<OpenLineageRunEvent>;
  readonly #jobs = new Map<string, JobTrack>();
  readonly #documentRuns = new Map<string, string>();
  #untranslatable = 0;

  constructor(options: OpenLineageEmitterOptions) {
    this.#o = { granularity: "job", maxOpenJobs: 1024, ...options };
    this.#target = `${options.url.replace(/\/+$/, "")}/${(options.endpoint ?? "api/v1/lineage").replace(/^\/+/, "")}`;
    this.#queue = new DeliveryQueue({
      name: this.name,
      maxQueue: options.maxQueue ?? 10_000,
      send: (e, signal) => this.#post(e, signal),
      ...(options.log ? { log: options.log } : {}),
    });
  }

  deliver(event: SluiceCloudEvent): void {
    try {
      for (const e of this.#translate(event)) this.#queue.push(e);
    } catch {
      this.#untranslatable++;
    }
  }

  stats(): DeliveryStats & { untranslatable: number } {
    return { ...this.#queue.stats(), untranslatable: this.#untranslatable };
  }

  /** Closes the stage runs of jobs still open here (as partial: this process saw no end), then flushes. */
  async close(): Promise<void> {
    const now = new Date().toISOString();
    for (const track of this.#jobs.values()) for (const e of this.#closeStages(track, now, true)) this.#queue.push(e);
    this.#jobs.clear();
    await this.#queue.close(this.#o.flushTimeoutMs ?? 5_000);
  }

  #translate(ce: SluiceCloudEvent): OpenLineageRunEvent[] {
    const jobId = str(ce["jobid"]);
    const collection = str(ce["collection"]);
    if (!jobId || !collection) return [];
    const time = ce.time ?? new Date().toISOString();
    const data = ce.data ?? {};
    const end = {
      "io.sluice.job.completed": "COMPLETE",
      "io.sluice.job.failed": "FAIL",
      "io.sluice.job.cancelled": "ABORT",
    } as const;
    if (ce.type === "io.sluice.job.created" || ce.type === "io.sluice.job.started") {
      const track = this.#track(jobId, collection);
      if (Array.isArray(data["paths"]))
        track.inputs = this.#inputs(
          jobId,
          data["paths"].filter((p): p is string => typeof p === "string"),
        );
      return [this.#jobRun(ce.type === "io.sluice.job.created" ? "START" : "RUNNING", track, ce, time)];
    }
    if (ce.type in end) {
      const track = this.#track(jobId, collection);
      this.#jobs.delete(jobId);
      return [
        ...this.#closeStages(track, time, false),
        this.#jobRun(end[ce.type as keyof typeof end], track, ce, time),
      ];
    }
    const stage = str(data["stage"]);
    if (!ce.type.startsWith("io.sluice.stage.") || !stage) return [];
    return this.#o.granularity === "job"
      ? this.#stageOfJob(jobId, collection, stage, ce, time)
      : this.#stageOfDocument(jobId, collection, stage, ce, time);
  }

  #track(jobId: string, collection: string): JobTrack {
    let track = this.#jobs.get(jobId);
    if (!track) {
      track = { jobId, collection, inputs: null, stages: new Map() };
      this.#jobs.set(jobId, track);
      if (this.#jobs.size > this.#o.maxOpenJobs) {
        // Bounded memory: a job whose end this process never sees (another worker finished it) goes first.
        const [oldest] = this.#jobs.values();
        this.#jobs.delete(oldest!.jobId);
        for (const e of this.#closeStages(oldest!, new Date().toISOString(), true)) this.#queue.push(e);
      }
    }
    return track;
  }

  #inputs(jobId: string, paths: string[]): OpenLineageDataset[] {
    if (paths.length === 0) return [{ namespace: "sluice-upload", name: jobId }];
    return paths.map((name) => ({ namespace: this.#o.sourceNamespace, name }));
  }

  #job(collection: string, stage: string | null): OpenLineageRunEvent["job"] {
    return {
      namespace: this.#o.namespace,
      name: stage ? `ingest.${collection}.${stage}` : `ingest.${collection}`,
      facets: {
        jobType: facet(this.#o.producer, "jobType", {
          processingType: "BATCH",
          integration: "SLUICE",
          jobType: stage ? "TASK" : "JOB",
        }),
      },
    };
  }

  #event(
    eventType: RunEventType,
    time: string,
    run: OpenLineageRunEvent["run"],
    job: OpenLineageRunEvent["job"],
    datasets: Pick<OpenLineageRunEvent, "inputs" | "outputs"> = {},
  ): OpenLineageRunEvent {
    return {
      eventType,
      eventTime: time,
      producer: this.#o.producer,
      schemaURL: OPENLINEAGE_SCHEMA_URL,
      run,
      job,
      ...datasets,
    };
  }

  #jobRun(eventType: RunEventType, track: JobTrack, ce: SluiceCloudEvent, time: string): OpenLineageRunEvent {
    const p = this.#o.producer;
    const data = ce.data ?? {};
    const model = this.#modelId();
    const error = str(data["error"]);
    const facets: Record<string, OpenLineageFacet> = {
      sluice_job: facet(p, "sluice_job", {
        jobId: track.jobId,
        tenant: str(ce["tenant"]) ?? "default",
        pipeline: str(data["pipeline"]) ?? null,
        pipelineVersion: str(ce["pipelineversion"]) ?? null,
        ...(str(data["state"])
          ? {
              state: data["state"],
              total: num(data["total"]),
              done: num(data["done"]),
              failed: num(data["failed"]),
              cancelled: num(data["cancelled"]),
            }
          : {}),
      }),
      ...(model ? { sluice_model: modelFacet(p, model) } : {}),
      ...(eventType === "FAIL" && error
        ? { errorMessage: facet(p, "errorMessage", { message: error, programmingLanguage: "TypeScript" }) }
        : {}),
    };
    const output: OpenLineageDataset = { namespace: this.#o.datasetNamespace, name: track.collection };
    return this.#event(eventType, time, { runId: jobRunId(track.jobId), facets }, this.#job(track.collection, null), {
      ...(track.inputs ? { inputs: track.inputs } : {}),
      outputs: [output],
    });
  }

  #parent(jobId: string, collection: string): OpenLineageFacet {
    return facet(this.#o.producer, "parent", {
      run: { runId: jobRunId(jobId) },
      job: { namespace: this.#o.namespace, name: `ingest.${collection}` },
    });
  }

  #stageOfJob(
    jobId: string,
    collection: string,
    stage: string,
    ce: SluiceCloudEvent,
    time: string,
  ): OpenLineageRunEvent[] {
    const track = this.#track(jobId, collection);
    const data = ce.data ?? {};
    const out: OpenLineageRunEvent[] = [];
    let run = track.stages.get(stage);
    if (!run) {
      run = {
        runId: randomUUID(),
        stage,
        started: 0,
        completed: 0,
        failed: 0,
        skipped: 0,
        retries: 0,
        durationMs: 0,
        lastError: null,
      };
      track.stages.set(stage, run);
      out.push(
        this.#event(
          "START",
          time,
          { runId: run.runId, facets: { parent: this.#parent(jobId, collection) } },
          this.#job(collection, stage),
        ),
      );
    }
    if (ce.type === "io.sluice.stage.started") run.started++;
    else if (ce.type === "io.sluice.stage.retrying") run.retries++;
    else if (ce.type === "io.sluice.stage.skipped") run.skipped++;
    else if (ce.type === "io.sluice.stage.completed" || ce.type === "io.sluice.stage.failed") {
      run.durationMs += num(data["durationMs"]);
      if (ce.type === "io.sluice.stage.completed") run.completed++;
      else {
        run.failed++;
        run.lastError = errorText(data["error"]);
      }
    }
    return out;
  }

  #closeStages(track: JobTrack, time: string, partial: boolean): OpenLineageRunEvent[] {
    const p = this.#o.producer;
    const out = [...track.stages.values()].map((run) => {
      const failedAll = run.failed > 0 && run.completed === 0 && run.skipped === 0;
      const facets: Record<string, OpenLineageFacet> = {
        parent: this.#parent(track.jobId, track.collection),
        sluice_stage: facet(p, "sluice_stage", {
          stage: run.stage,
          documents: { started: run.started, completed: run.completed, failed: run.failed, skipped: run.skipped },
          retries: run.retries,
          durationMs: Math.round(run.durationMs * 1000) / 1000,
          ...(partial ? { partial: true } : {}),
        }),
        ...(failedAll && run.lastError
          ? { errorMessage: facet(p, "errorMessage", { message: run.lastError, programmingLanguage: "TypeScript" }) }
          : {}),
      };
      return this.#event(
        failedAll ? "FAIL" : "COMPLETE",
        time,
        { runId: run.runId, facets },
        this.#job(track.collection, run.stage),
      );
    });
    track.stages.clear();
    return out;
  }

  #stageOfDocument(
    jobId: string,
    collection: string,
    stage: string,
    ce: SluiceCloudEvent,
    time: string,
  ): OpenLineageRunEvent[] {
    const ended = ce.type === "io.sluice.stage.completed" || ce.type === "io.sluice.stage.failed";
    if (ce.type !== "io.sluice.stage.started" && !ended) return [];
    const p = this.#o.producer;
    const data = ce.data ?? {};
    const key = `${jobId}\u0000${ce.subject ?? ""}\u0000${stage}`;
    const out: OpenLineageRunEvent[] = [];
    let runId = this.#documentRuns.get(key);
    const stageFacet = (extra: Record<string, unknown>) =>
      facet(p, "sluice_stage", { stage, documentId: ce.subject ?? null, attempt: num(data["attempt"]), ...extra });
    if (!runId || ce.type === "io.sluice.stage.started") {
      runId = randomUUID();
      this.#documentRuns.set(key, runId);
      // Bounded: a run whose end never arrives (the process that ran it died) is forgotten first.
      if (this.#documentRuns.size > 10_000) this.#documentRuns.delete(this.#documentRuns.keys().next().value!);
      out.push(
        this.#event(
          "START",
          time,
          { runId, facets: { parent: this.#parent(jobId, collection), sluice_stage: stageFacet({}) } },
          this.#job(collection, stage),
        ),
      );
    }
    if (ended) {
      this.#documentRuns.delete(key);
      const failed = ce.type === "io.sluice.stage.failed";
      const error = errorText(data["error"]);
      const facets: Record<string, OpenLineageFacet> = {
        parent: this.#parent(jobId, collection),
        sluice_stage: stageFacet({ durationMs: num(data["durationMs"]) }),
        ...(failed && error
          ? { errorMessage: facet(p, "errorMessage", { message: error, programmingLanguage: "TypeScript" }) }
          : {}),
      };
      out.push(this.#event(failed ? "FAIL" : "COMPLETE", time, { runId, facets }, this.#job(collection, stage)));
    }
    return out;
  }

  #modelId(): string | undefined {
    try {
      return this.#o.modelId?.();
    } catch {
      return undefined;
    }
  }

  async #post(event: OpenLineageRunEvent, signal: AbortSignal): Promise<void> {
    const res = await fetch(this.#target, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(this.#o.apiKey ? { authorization: `Bearer ${this.#o.apiKey}` } : {}),
      },
      body: JSON.stringify(event),
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.#o.timeoutMs ?? 5_000)]),
    });
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok)
      throw new SluiceError("EVENT_DELIVERY_FAILED", `POST ${this.#target} answered ${res.status} ${res.statusText}`, {
        details: { status: res.status },
      });
  }
}

/**
 * The OpenLineage run id of an ingest job: the same in every process that reports on it.
 *
 * @example
 * jobRunId("job_01HV…"); // a UUID v5
 */
export function jobRunId(jobId: string): string {
  return nameUuid(`job:${jobId}`);
}

function errorText(value: unknown): string | null {
  if (typeof value !== "object" || value === null) return null;
  const { code, message } = value as { code?: unknown; message?: unknown };
  return `${typeof code === "string" ? code : "ERROR"}: ${typeof message === "string" ? message : ""}`;
}
