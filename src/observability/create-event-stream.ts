import { hostname } from "node:os";
import { resolve } from "node:path";
import type { SluiceConfig } from "../config/schema.ts";
import { StageEventStream } from "./cloudevents.ts";
import { HttpEventSink } from "./http-event-sink.ts";
import { OpenLineageEmitter } from "./openlineage/openlineage-emitter.ts";

export interface EventStreamContext {
  /** Base for a relative `events.file`. */
  cwd: string;
  /** The engine's data directory: part of the output datasets' default namespace. */
  dataDir: string;
  /** The dense embedder's id once the engine has one (the OpenLineage model facet). */
  modelId?: () => string | undefined;
  /** Where the sinks' secrets are read (`events.http.headers` values, `lineage.apiKeyEnv`); default `process.env`. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The engine's event stream with the sinks the config asks for: the JSONL file (`events.file`,
 * which env SLUICE_EVENTS_FILE overrides), the CloudEvents HTTP endpoint (`events.http`) and OpenLineage
 * (`lineage.url`). In-process subscribers attach later with `subscribe`.
 *
 * @example
 * const events = createEventStream(config, { cwd: process.cwd(), dataDir: ".sluice" });
 */
export function createEventStream(config: SluiceConfig, context: EventStreamContext): StageEventStream {
  const env = context.env ?? process.env;
  const host = hostname();
  const file = config.events.file;
  const stream = new StageEventStream(`/sluice/${host}`, file ? resolve(context.cwd, file) : undefined);
  const http = config.events.http;
  if (http)
    stream.addSink(
      new HttpEventSink({
        url: http.url,
        mode: http.mode,
        headers: http.headers,
        timeoutMs: http.timeoutMs,
        maxQueue: http.maxQueue,
        env,
      }),
    );
  const lineage = config.lineage;
  if (lineage.url) {
    const apiKey = lineage.apiKeyEnv ? env[lineage.apiKeyEnv] : undefined;
    stream.addSink(
      new OpenLineageEmitter({
        url: lineage.url,
        endpoint: lineage.endpoint,
        ...(apiKey ? { apiKey } : {}),
        namespace: lineage.namespace,
        datasetNamespace: lineage.datasetNamespace ?? `sluice://${host}${resolve(context.dataDir)}`,
        sourceNamespace: `file://${host}`,
        granularity: lineage.granularity,
        producer: lineage.producer,
        timeoutMs: lineage.timeoutMs,
        maxQueue: lineage.maxQueue,
        ...(context.modelId ? { modelId: context.modelId } : {}),
      }),
    );
  }
  return stream;
}
