import { createHash, randomBytes } from "node:crypto";

/** `version-traceid-spanid-flags`, lower-case hex, as W3C Trace Context level 1 writes it. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;

/**
 * Whether a string is a valid version-00 W3C `traceparent` (non-zero trace and span ids).
 *
 * @example
 * isTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"); // true
 */
export function isTraceparent(value: string): boolean {
  return TRACEPARENT.test(value);
}

/**
 * A fresh, sampled trace context, for work that starts outside any trace.
 *
 * @example
 * const traceparent = activeTraceparent() ?? newTraceparent();
 */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
}

/**
 * A trace context for job-level events, derived from the job id: every process that reports on
 * the job (the one that created it, the workers, the one that cancelled it) lands in the same
 * trace without sharing state. The span id is derived from `span` (the event type), so each
 * transition is its own span. Job ids are random, so the trace ids are too.
 *
 * @example
 * jobTraceparent("job_01HV…", "job.created"); // "00-<32 hex>-<16 hex>-01"
 */
export function jobTraceparent(jobId: string, span: string): string {
  const trace = createHash("sha256").update(`sluice-trace:${jobId}`).digest("hex").slice(0, 32);
  const spanId = createHash("sha256").update(`sluice-span:${jobId}:${span}`).digest("hex").slice(0, 16);
  // A derived id that happens to be all zeros would be invalid; the odds are 2^-64, but be exact.
  return `00-${/^0+$/.test(trace) ? "1".padStart(32, "0") : trace}-${/^0+$/.test(spanId) ? "1".padStart(16, "0") : spanId}-01`;
}
