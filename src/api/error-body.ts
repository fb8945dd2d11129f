import { ERROR_CODES, type ErrorCode, httpReason, isSluiceError, SluiceError } from "../contracts/errors.ts";
import type { ErrorBody } from "./schemas.ts";

/** What the HTTP layer knows about the request when it reports an error. */
export interface ErrorContext {
  /** The body limit in force for the route, to say it in a 413. */
  bodyLimit?: number;
}

interface ErrorLike {
  code?: unknown;
  statusCode?: unknown;
  message?: unknown;
  validation?: unknown;
}

function asErrorLike(err: unknown): ErrorLike {
  return typeof err === "object" && err !== null ? err : {};
}

/** Fastify's and @fastify/multipart's own client errors, as Sluice codes and plain messages. */
function fromFramework(err: ErrorLike, context: ErrorContext): SluiceError | undefined {
  const limit = context.bodyLimit !== undefined ? ` (limit ${context.bodyLimit} bytes)` : "";
  switch (err.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return new SluiceError("PAYLOAD_TOO_LARGE", `request body is too large${limit}`);
    case "FST_ERR_CTP_INVALID_JSON_BODY":
      return new SluiceError("VALIDATION_FAILED", "request body is not valid JSON");
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
      return new SluiceError("VALIDATION_FAILED", "request body is empty but content-type is application/json");
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return new SluiceError(
        "UNSUPPORTED_TYPE",
        "unsupported content-type: send application/json (or multipart/form-data for file uploads)",
      );
    case "FST_REQ_FILE_TOO_LARGE":
      return new SluiceError("PAYLOAD_TOO_LARGE", "an uploaded file is over the per-file upload limit");
    case "FST_FILES_LIMIT":
    case "FST_PARTS_LIMIT":
    case "FST_FIELDS_LIMIT":
      return new SluiceError("PAYLOAD_TOO_LARGE", `too many parts in the multipart upload (${String(err.message)})`);
  }
  const status = typeof err.statusCode === "number" ? err.statusCode : 500;
  if (err.validation !== undefined) return new SluiceError("VALIDATION_FAILED", String(err.message));
  if (status >= 400 && status < 500) {
    // Other client errors from the framework carry plain, safe messages; keep the status when it has a code.
    const byStatus: Record<number, ErrorCode> = { 404: "NOT_FOUND", 413: "PAYLOAD_TOO_LARGE", 415: "UNSUPPORTED_TYPE" };
    return new SluiceError(
      byStatus[status] ?? "VALIDATION_FAILED",
      typeof err.message === "string" ? err.message : httpReason(status),
    );
  }
  return undefined;
}

/**
 * Turns anything thrown while serving a request into the one error body the API sends:
 * `{statusCode, code, error, message}`. SluiceErrors keep their code, status and message;
 * Fastify's client errors map to Sluice codes (body too large → 413 `PAYLOAD_TOO_LARGE`, bad
 * JSON → 400 `VALIDATION_FAILED`); anything else is 500 `INTERNAL` with the message
 * "Internal Server Error", so no stack or internal detail ever reaches the client.
 *
 * @example
 * const body = toErrorBody(new SluiceError("JOB_NOT_FOUND", 'job "x" not found'));
 * // { statusCode: 404, code: "JOB_NOT_FOUND", error: "Not Found", message: 'job "x" not found' }
 */
export function toErrorBody(err: unknown, context: ErrorContext = {}): ErrorBody {
  const known = isSluiceError(err) ? err : fromFramework(asErrorLike(err), context);
  if (!known || known.code === "INTERNAL")
    return { statusCode: 500, code: "INTERNAL", error: httpReason(500), message: "Internal Server Error" };
  // From the code table, not the object: an error rebuilt from JSON has a code but maybe no statusCode.
  const statusCode = (ERROR_CODES as Record<string, { status: number } | undefined>)[known.code]?.status ?? 500;
  return { statusCode, code: known.code, error: httpReason(statusCode), message: known.message };
}
