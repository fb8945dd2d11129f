/**
 * Every error Sluice raises on purpose, in one table: a stable UPPER_SNAKE code, its category,
 * the HTTP status it maps to, and whether a retry can help. Errors cross process boundaries
 * (worker → ledger → CLI/HTTP), so each carries `name` and `code` and serialises with `toJSON()`.
 *
 * @example
 * throw new SluiceError("DOCUMENT_EMPTY", `file ${path} is empty`, { details: { path } });
 */
export type ErrorCategory = "USER" | "SYSTEM" | "THIRD_PARTY";

interface CodeSpec {
  readonly status: number;
  readonly category: ErrorCategory;
  /** Whether the resilience policy may retry it; user errors never are. */
  readonly retryable: boolean;
  /**
   * The callee asked us to slow down (a full queue, a full spool): retry after a backoff, but it
   * says nothing about the callee's health, so it never counts toward a circuit breaker.
   */
  readonly pushback?: boolean;
  /**
   * The document never reached the work that could fail on it (an open breaker): hand it back
   * to the queue without spending one of its attempts. Pushback is refunded too.
   */
  readonly refund?: boolean;
}

export const ERROR_CODES = {
  // request and configuration
  VALIDATION_FAILED: { status: 400, category: "USER", retryable: false },
  CONFIG_INVALID: { status: 400, category: "USER", retryable: false },
  PIPELINE_INVALID: { status: 400, category: "USER", retryable: false },
  UNKNOWN_STAGE: { status: 400, category: "USER", retryable: false },
  UNKNOWN_SOURCE: { status: 400, category: "USER", retryable: false },
  PATH_NOT_FOUND: { status: 400, category: "USER", retryable: false },
  /** A path from a request that resolves outside the allowed ingest roots (`ingest.allowedRoots`). */
  PATH_FORBIDDEN: { status: 403, category: "USER", retryable: false },
  COLLECTION_NOT_FOUND: { status: 404, category: "USER", retryable: false },
  COLLECTION_INVALID: { status: 400, category: "USER", retryable: false },
  DOCUMENT_NOT_FOUND: { status: 404, category: "USER", retryable: false },
  JOB_NOT_FOUND: { status: 404, category: "USER", retryable: false },
  CURSOR_STALE: { status: 409, category: "USER", retryable: false },
  JOB_STATE_CONFLICT: { status: 409, category: "USER", retryable: false },
  EMBEDDER_MISMATCH: { status: 409, category: "USER", retryable: false },
  NOT_FOUND: { status: 404, category: "USER", retryable: false },
  PAYLOAD_TOO_LARGE: { status: 413, category: "USER", retryable: false },
  /** Over a spool limit (pending records, bytes, free disk): come back after `details.retryAfterSeconds`. */
  BACKPRESSURE: { status: 429, category: "SYSTEM", retryable: true, pushback: true },
  /** Over a per-user, per-route request limit (`api.rateLimits`): come back after `details.retryAfterSeconds`. */
  RATE_LIMITED: { status: 429, category: "USER", retryable: true, pushback: true },
  /** Another live process holds the collection's ingest lock: hand the document back and try later. */
  COLLECTION_LOCKED: { status: 409, category: "SYSTEM", retryable: true, pushback: true },
  // documents
  DOCUMENT_EMPTY: { status: 422, category: "USER", retryable: false },
  DOCUMENT_TOO_LARGE: { status: 413, category: "USER", retryable: false },
  DOCUMENT_BINARY: { status: 415, category: "USER", retryable: false },
  DOCUMENT_ENCODING: { status: 422, category: "USER", retryable: false },
  UNSUPPORTED_TYPE: { status: 415, category: "USER", retryable: false },
  PDF_ENCRYPTED: { status: 422, category: "USER", retryable: false },
  PDF_CORRUPT: { status: 422, category: "USER", retryable: false },
  JSONL_INVALID: { status: 422, category: "USER", retryable: false },
  // runtime
  STAGE_TIMEOUT: { status: 504, category: "SYSTEM", retryable: true },
  CIRCUIT_OPEN: { status: 503, category: "SYSTEM", retryable: true, refund: true },
  STAGE_FAILED: { status: 500, category: "SYSTEM", retryable: true },
  JOB_CANCELLED: { status: 409, category: "USER", retryable: false },
  ATTEMPTS_EXHAUSTED: { status: 500, category: "SYSTEM", retryable: false },
  DEADLINE_EXCEEDED: { status: 504, category: "SYSTEM", retryable: false },
  /** The document crashed the worker process each time it ran alone in it: a poison document. */
  WORKER_CRASHED: { status: 500, category: "SYSTEM", retryable: false },
  MODEL_UNAVAILABLE: { status: 503, category: "THIRD_PARTY", retryable: true },
  MODEL_BAD_RESPONSE: { status: 502, category: "THIRD_PARTY", retryable: true },
  MODEL_REJECTED: { status: 422, category: "THIRD_PARTY", retryable: false },
  /**
   * An event sink (CloudEvents HTTP endpoint, OpenLineage collector) refused or did not answer;
   * counted and logged, never thrown into a pipeline.
   */
  EVENT_DELIVERY_FAILED: { status: 502, category: "THIRD_PARTY", retryable: true },
  /** A model server's queue is full (gRPC RESOURCE_EXHAUSTED): back off and send less; not a breaker failure. */
  MODEL_OVERLOADED: { status: 429, category: "THIRD_PARTY", retryable: true, pushback: true },
  /** The device a call requires is not available (gRPC FAILED_PRECONDITION): fail fast, never retried. */
  DEVICE_UNAVAILABLE: { status: 503, category: "SYSTEM", retryable: false },
  /** A caller the model server or API does not know (no certificate, unknown CN, bad token). */
  UNAUTHENTICATED: { status: 401, category: "USER", retryable: false },
  PERMISSION_DENIED: { status: 403, category: "USER", retryable: false },
  /**
   * The API cannot check credentials right now (the JWKS endpoint is down or answers garbage): not
   * the caller's fault.
   */
  AUTH_UNAVAILABLE: { status: 503, category: "THIRD_PARTY", retryable: true },
  /**
   * The ledger's database or the queue's Redis cannot be reached: nothing was accepted; come back
   * after `details.retryAfterSeconds`.
   */
  STORE_UNAVAILABLE: { status: 503, category: "SYSTEM", retryable: true, pushback: true },
  /**
   * More queries than the server can start within `api.queries.queueTimeoutMs`, or more waiting
   * than `api.queries.maxQueued`: refused at once; come back after `details.retryAfterSeconds`.
   */
  OVERLOADED: { status: 503, category: "SYSTEM", retryable: true, pushback: true },
  // scholarly sources (ClinicalTrials.gov, OpenAlex, PMC, Unpaywall) and downloads
  /** The API refused the request (a bad filter, an unknown id, a bad key); the message quotes its reason. */
  SOURCE_REJECTED: { status: 422, category: "THIRD_PARTY", retryable: false },
  /** The API did not answer, or answered 5xx, through every retry; or its host's breaker is open. */
  SOURCE_UNAVAILABLE: { status: 503, category: "THIRD_PARTY", retryable: true },
  /** The API asked us to wait (429 `Retry-After`) longer than a call may wait: come back later. */
  SOURCE_RATE_LIMITED: { status: 429, category: "THIRD_PARTY", retryable: true, pushback: true },
  /** The record has no open-access copy to fetch (Unpaywall `closed`, PMC `idIsNotOpenAccess`). */
  NOT_OPEN_ACCESS: { status: 422, category: "USER", retryable: false },
  /**
   * A download's host resolves to a private, loopback, link-local, unspecified, multicast or reserved address
   * (`download.allowPrivateNetworks`, `download.allowedHosts` lift this); the message names the host and the class.
   */
  DOWNLOAD_FORBIDDEN: { status: 403, category: "USER", retryable: false },
  /** A download answered something that is not a PDF (an HTML landing page, a login form): its bytes lack `%PDF-`. */
  DOWNLOAD_NOT_PDF: { status: 415, category: "USER", retryable: false },
  /**
   * A two-phase gate waited past its deadline: the parsed PDF (its IR) was never ready, because the
   * OCR service or the PDF's host stayed unreachable. The message quotes the last reason.
   */
  GATE_DEADLINE_EXCEEDED: { status: 504, category: "THIRD_PARTY", retryable: false },
  INTERNAL: { status: 500, category: "SYSTEM", retryable: false },
} as const satisfies Record<string, CodeSpec>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface SluiceErrorJSON {
  name: string;
  code: ErrorCode;
  category: ErrorCategory;
  message: string;
  details?: Record<string, unknown>;
}

export class SluiceError extends Error {
  readonly code: ErrorCode;
  readonly category: ErrorCategory;
  readonly statusCode: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: { details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    // Keep instanceof and name working after the error crosses a module or process boundary.
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
    const spec: CodeSpec = ERROR_CODES[code];
    this.code = code;
    this.category = spec.category;
    this.statusCode = spec.status;
    this.retryable = spec.retryable;
    this.details = options.details;
  }

  toJSON(): SluiceErrorJSON {
    return {
      name: this.name,
      code: this.code,
      category: this.category,
      message: this.message,
      ...(this.details ? { details: this.details } : {}),
    };
  }
}

/** Checks by class or by name, so errors rebuilt from JSON or another realm still match. */
export function isSluiceError(err: unknown): err is SluiceError {
  return (
    err instanceof SluiceError ||
    (typeof err === "object" &&
      err !== null &&
      (err as { name?: unknown }).name === "SluiceError" &&
      typeof (err as { code?: unknown }).code === "string")
  );
}

/** Whether a retry policy should try again after this error. Unknown errors are retried. */
export function isRetryable(err: unknown): boolean {
  if (isSluiceError(err)) return err.retryable;
  return true;
}

/** Whether the error is the callee pushing back (retry later, but not a failure of the callee). */
export function isPushback(err: unknown): boolean {
  if (!isSluiceError(err)) return false;
  const spec: CodeSpec = ERROR_CODES[err.code];
  return spec.pushback === true;
}

/** Whether a document that failed this way goes back to the queue with its attempt given back. */
export function isRefunded(err: unknown): boolean {
  if (!isSluiceError(err)) return false;
  const spec: CodeSpec = ERROR_CODES[err.code];
  return spec.refund === true || spec.pushback === true;
}

/** Wraps anything thrown into a SluiceError, keeping the original as `cause`. */
export function toSluiceError(err: unknown, fallback: ErrorCode = "INTERNAL"): SluiceError {
  if (isSluiceError(err)) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new SluiceError(fallback, message, { cause: err });
}

const HTTP_REASONS: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  409: "Conflict",
  413: "Payload Too Large",
  415: "Unsupported Media Type",
  422: "Unprocessable Entity",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * The reason phrase for one of the HTTP statuses in the table above: the `error` field of the
 * HTTP error body (`{statusCode, code, error, message}`) that the API answers and `--json`
 * commands print. An unlisted status reads "Error".
 *
 * @example
 * httpReason(new SluiceError("JOB_NOT_FOUND", "no job j1").statusCode); // "Not Found"
 */
export function httpReason(status: number): string {
  return HTTP_REASONS[status] ?? "Error";
}
