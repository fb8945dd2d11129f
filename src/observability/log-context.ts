import { AsyncLocalStorage } from "node:async_hooks";

/** Correlation fields every log line written inside {@link withLogFields} carries. */
export interface LogFields {
  /** The request id for HTTP, the job id for a worker's document run. */
  correlation_id?: string;
  job_id?: string;
  doc_id?: string;
  tenant?: string;
  /** Fallback trace ids (a run's traceparent while tracing is off); an active span's ids win. */
  trace_id?: string;
  span_id?: string;
}

const storage = new AsyncLocalStorage<LogFields>();
/**
 * Off until a logger that writes is created: the first `AsyncLocalStorage.run` turns Node's
 * promise hooks on for the whole process (every await then costs more), a price only worth
 * paying when some line will read the fields.
 */
let enabled = false;

/**
 * Makes {@link withLogFields} record its fields from now on (`createLogger` calls it for any level but `silent`).
 *
 * @example
 * enableLogFields();
 */
export function enableLogFields(): void {
  enabled = true;
}

/**
 * Runs `fn` with `fields` added to the log fields already in force (inner values win); the
 * logger's mixin reads them, so code deep inside a run needs no logger parameter threaded to it.
 * While no logger writes (logs off, the default) it just calls `fn`.
 *
 * @example
 * await withLogFields({ correlation_id: jobId, job_id: jobId, doc_id: docId }, () => runDocument());
 */
export function withLogFields<T>(fields: LogFields, fn: () => T): T {
  if (!enabled) return fn();
  const outer = storage.getStore();
  return storage.run(outer ? { ...outer, ...fields } : fields, fn);
}

/**
 * The log fields in force here (an empty object outside any {@link withLogFields}).
 *
 * @example
 * const { job_id } = logFields();
 */
export function logFields(): LogFields {
  return storage.getStore() ?? {};
}
