import { createWriteStream, mkdirSync, type WriteStream } from "node:fs";
import { dirname } from "node:path";
import { CloudEvent } from "cloudevents";
import type { StageEvent } from "../contracts/stage-event.ts";

/** `stage.started` → `io.sluice.stage.started`: the CloudEvents type of a stage transition. */
export function cloudEventType(event: StageEvent): string {
  return `io.sluice.${event.type}`;
}

/**
 * A stage transition as a CloudEvents 1.0 event: `subject` is the document id, the extensions
 * carry the job id, the collection and the pipeline version (extension names are lowercase
 * letters and digits, as the spec requires).
 *
 * @example
 * const ce = toCloudEvent(event, "/sluice/host-1");
 * ce.validate(); // true
 */
export function toCloudEvent(event: StageEvent, source: string): CloudEvent<Record<string, unknown>> {
  return new CloudEvent<Record<string, unknown>>({
    type: cloudEventType(event),
    source,
    subject: event.docId,
    time: new Date(event.at).toISOString(),
    datacontenttype: "application/json",
    jobid: event.jobId,
    ...(event.collection ? { collection: event.collection } : {}),
    ...(event.pipelineVersion ? { pipelineversion: event.pipelineVersion } : {}),
    data: {
      stage: event.stage,
      attempt: event.attempt,
      ...(event.durationMs !== undefined ? { durationMs: Math.round(event.durationMs * 1000) / 1000 } : {}),
      ...(event.error ? { error: event.error } : {}),
    },
  });
}

export type CloudEventListener = (event: CloudEvent<Record<string, unknown>>) => void;

/**
 * Where stage lifecycle events go: in-process subscribers, and a JSONL file (one structured-mode
 * event per line) when `events.file` or SLUICE_EVENTS_FILE names one.
 *
 * @example
 * const events = new StageEventStream("/sluice/host-1", process.env.SLUICE_EVENTS_FILE);
 * const stop = events.subscribe((ce) => console.log(ce.type, ce.subject));
 */
export class StageEventStream {
  readonly source: string;
  readonly #file: string | undefined;
  #out: WriteStream | null = null;
  readonly #listeners = new Set<CloudEventListener>();

  constructor(source: string, file?: string) {
    this.source = source;
    this.#file = file;
  }

  subscribe(listener: CloudEventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  get active(): boolean {
    return this.#file !== undefined || this.#listeners.size > 0;
  }

  publish = (event: StageEvent): void => {
    if (!this.active) return;
    const ce = toCloudEvent(event, this.source);
    for (const listener of this.#listeners) listener(ce);
    if (this.#file) {
      if (!this.#out) {
        mkdirSync(dirname(this.#file), { recursive: true });
        this.#out = createWriteStream(this.#file, { flags: "a" });
      }
      this.#out.write(`${JSON.stringify(ce)}\n`);
    }
  };

  async close(): Promise<void> {
    const out = this.#out;
    this.#out = null;
    if (out) await new Promise<void>((resolve) => out.end(resolve));
  }
}
