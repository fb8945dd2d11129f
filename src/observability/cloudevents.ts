import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { CloudEvent } from "cloudevents";
import type { JobEvent } from "../contracts/job-event.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import type { DeliveryStats } from "./delivery-queue.ts";
import { jobTraceparent } from "./trace-context.ts";

/** What a CloudEvents `subject` names for a type, and whether anything emits it yet. */
export interface CloudEventTypeSpec {
  readonly subject: "document id" | "job id";
  readonly description: string;
  /** Defined so consumers can rely on the name; nothing emits it yet. */
  readonly reserved?: true;
}

/**
 * Every CloudEvents `type` Sluice defines. All events carry the extensions `jobid`, `tenant`
 * (`"default"` when the job has none), `traceparent` (W3C trace context, the CloudEvents
 * distributed-tracing extension) and, where known, `collection` and `pipelineversion`.
 *
 * `io.sluice.gate.suspended` is emitted when a stage parks a document until a condition holds
 * (the two-phase PDF gate: OCR down, PDF unreachable); `data.reason` says why. The document's next
 * run reports its stages as usual. `io.sluice.gate.resumed` stays reserved.
 *
 * @example
 * CLOUD_EVENT_TYPES["io.sluice.job.completed"].subject; // "job id"
 */
export const CLOUD_EVENT_TYPES = {
  "io.sluice.stage.started": { subject: "document id", description: "a stage began on a document (first attempt)" },
  "io.sluice.stage.retrying": {
    subject: "document id",
    description: "a stage is trying a document again after a retryable failure",
  },
  "io.sluice.stage.completed": { subject: "document id", description: "a stage finished a document" },
  "io.sluice.stage.failed": {
    subject: "document id",
    description: "a stage failed a document; data.error has its code and message",
  },
  "io.sluice.stage.skipped": {
    subject: "document id",
    description: "a stage was skipped: its checkpoint from an earlier run was reused",
  },
  "io.sluice.job.created": { subject: "job id", description: "a job was recorded; data.paths names what it ingests" },
  "io.sluice.job.started": {
    subject: "job id",
    description: "a worker began the job's first document (once per worker process)",
  },
  "io.sluice.job.completed": {
    subject: "job id",
    description: "the job ended with at least one document indexed (or none to index)",
  },
  "io.sluice.job.failed": {
    subject: "job id",
    description: "the job ended with every document failed, or its admission failed",
  },
  "io.sluice.job.cancelled": { subject: "job id", description: "the job was cancelled" },
  "io.sluice.gate.suspended": {
    subject: "document id",
    description:
      "a stage suspended a document until a condition holds (no lease held, no attempt spent); data.reason says why",
  },
  "io.sluice.gate.resumed": {
    subject: "document id",
    description: "reserved: a two-phase gate resumed a document (no gate emits it yet)",
    reserved: true,
  },
} as const satisfies Record<string, CloudEventTypeSpec>;

export type SluiceCloudEventType = keyof typeof CLOUD_EVENT_TYPES;

/**
 * The tenant extension's value for jobs that belong to none.
 *
 * @example
 * ce["tenant"] === DEFAULT_TENANT; // a single-tenant deployment
 */
export const DEFAULT_TENANT = "default";

/** Anything the engine reports: a stage transition of a document, or a job transition. */
export type SluiceEvent = StageEvent | JobEvent;

export type SluiceCloudEvent = CloudEvent<Record<string, unknown>>;

function isJobEvent(event: SluiceEvent): event is JobEvent {
  return event.type.startsWith("job.");
}

/**
 * `stage.started` → `io.sluice.stage.started`: the CloudEvents type of a transition.
 *
 * @example
 * cloudEventType({ type: "job.created", jobId: "job_1", at: Date.now(), collection: "c", pipeline: "auto" });
 * // "io.sluice.job.created"
 */
export function cloudEventType(event: SluiceEvent): SluiceCloudEventType {
  return `io.sluice.${event.type}` as const;
}

/**
 * A transition as a CloudEvents 1.0 event. Stage events: `subject` is the document id, `data`
 * the stage, attempt, duration and error. Job events: `subject` is the job id, `data` the job's
 * state and counts. Extension names are lowercase letters and digits, as the spec requires.
 *
 * @example
 * const ce = toCloudEvent(event, "/sluice/host-1");
 * ce.validate(); // true
 */
export function toCloudEvent(event: SluiceEvent, source: string): SluiceCloudEvent {
  const common = {
    type: cloudEventType(event),
    source,
    time: new Date(event.at).toISOString(),
    datacontenttype: "application/json",
    jobid: event.jobId,
    tenant: event.tenant ?? DEFAULT_TENANT,
    ...(event.collection ? { collection: event.collection } : {}),
    ...(event.pipelineVersion ? { pipelineversion: event.pipelineVersion } : {}),
  };
  if (isJobEvent(event)) {
    return new CloudEvent<Record<string, unknown>>({
      ...common,
      subject: event.jobId,
      traceparent: event.traceparent ?? jobTraceparent(event.jobId, event.type),
      data: {
        pipeline: event.pipeline,
        ...(event.state ? { state: event.state } : {}),
        ...(event.total !== undefined
          ? { total: event.total, done: event.done ?? 0, failed: event.failed ?? 0, cancelled: event.cancelled ?? 0 }
          : {}),
        ...(event.error ? { error: event.error } : {}),
        ...(event.paths ? { paths: event.paths } : {}),
      },
    });
  }
  return new CloudEvent<Record<string, unknown>>({
    ...common,
    subject: event.docId,
    // A stage event reported without one (a caller other than the worker) still joins its job's trace.
    traceparent: event.traceparent ?? jobTraceparent(event.jobId, `${event.docId}:${event.stage}`),
    data: {
      stage: event.stage,
      attempt: event.attempt,
      ...(event.durationMs !== undefined ? { durationMs: Math.round(event.durationMs * 1000) / 1000 } : {}),
      ...(event.error ? { error: event.error } : {}),
      ...(event.reason ? { reason: event.reason } : {}),
    },
  });
}

export type CloudEventListener = (event: SluiceCloudEvent) => void;

/** A destination that takes events off the publishing path: it must neither block nor throw. */
export interface EventSink {
  readonly name: string;
  deliver(event: SluiceCloudEvent): void;
  /** Delivered, failed, dropped and queued counts, for sinks that deliver from a queue. */
  stats?(): DeliveryStats;
  /** Flushes what it can (bounded in time) and releases its resources. */
  close(): Promise<void>;
}

/**
 * Where stage and job lifecycle events go: in-process subscribers, a JSONL file (one
 * structured-mode event per line) when `events.file` or SLUICE_EVENTS_FILE names one, and any
 * sinks added (`events.http`, OpenLineage). Publishing never throws into the pipeline: a
 * listener that throws is counted in `stats().listenerErrors`, a file that cannot be written is
 * reported once on stderr, and sinks deliver from bounded queues of their own.
 *
 * @example
 * const events = new StageEventStream("/sluice/host-1", process.env.SLUICE_EVENTS_FILE);
 * const stop = events.subscribe((ce) => console.log(ce.type, ce.subject));
 */
export class StageEventStream {
  readonly source: string;
  readonly #file: string | undefined;
  #out: WriteStream | null = null;
  #fileFailed = false;
  readonly #listeners = new Set<CloudEventListener>();
  readonly #sinks: EventSink[] = [];
  #published = 0;
  #listenerErrors = 0;

  constructor(source: string, file?: string) {
    this.source = source;
    this.#file = file;
  }

  subscribe(listener: CloudEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Adds a sink; it gets every event published from now on and is closed with the stream. */
  addSink(sink: EventSink): void {
    this.#sinks.push(sink);
  }

  get active(): boolean {
    return this.#file !== undefined || this.#listeners.size > 0 || this.#sinks.length > 0;
  }

  /** Events published, listener errors, and each queued sink's delivery counts by name. */
  stats(): { published: number; listenerErrors: number; sinks: Record<string, DeliveryStats> } {
    const sinks: Record<string, DeliveryStats> = {};
    for (const sink of this.#sinks) if (sink.stats) sinks[sink.name] = sink.stats();
    return { published: this.#published, listenerErrors: this.#listenerErrors, sinks };
  }

  publish = (event: SluiceEvent): void => {
    if (!this.active) return;
    const ce = toCloudEvent(event, this.source);
    this.#published++;
    for (const listener of this.#listeners) {
      try {
        listener(ce);
      } catch {
        // A subscriber's bug must not fail the stage that reported the event.
        this.#listenerErrors++;
      }
    }
    for (const sink of this.#sinks) sink.deliver(ce);
    if (this.#file && !this.#fileFailed) this.#write(this.#file, ce);
  };

  #write(file: string, ce: SluiceCloudEvent): void {
    if (!this.#out) {
      try {
        mkdirSync(dirname(file), { recursive: true });
      } catch (err) {
        return this.#fileError(file, err);
      }
      this.#out = createWriteStream(file, { flags: "a" });
      this.#out.on("error", (err) => this.#fileError(file, err));
    }
    this.#out.write(`${JSON.stringify(ce)}\n`);
  }

  #fileError(file: string, err: unknown): void {
    if (this.#fileFailed) return;
    this.#fileFailed = true;
    process.stderr.write(
      `sluice: events.file: cannot write ${file} (${err instanceof Error ? err.message : String(err)}); events are no longer written to it\n`,
    );
  }

  async close(): Promise<void> {
    const out = this.#out;
    this.#out = null;
    // Sinks stay listed after close, so their final counts can still be read.
    await Promise.all(this.#sinks.map((s) => s.close()));
    if (out && !this.#fileFailed) await new Promise<void>((resolve) => out.end(resolve));
  }
}
