import * as grpc from "@grpc/grpc-js";
import { ERROR_CODES, isSluiceError, SluiceError, toSluiceError, type ErrorCode } from "../../contracts/errors.ts";

/** Trailing metadata key carrying the server's SluiceError code, so the client restores it exactly. */
export const ERROR_CODE_KEY = "sluice-error-code";

const TO_STATUS: Partial<Record<ErrorCode, grpc.status>> = {
  VALIDATION_FAILED: grpc.status.INVALID_ARGUMENT,
  CONFIG_INVALID: grpc.status.INVALID_ARGUMENT,
  MODEL_REJECTED: grpc.status.INVALID_ARGUMENT,
  PAYLOAD_TOO_LARGE: grpc.status.INVALID_ARGUMENT,
  DEVICE_UNAVAILABLE: grpc.status.FAILED_PRECONDITION,
  MODEL_OVERLOADED: grpc.status.RESOURCE_EXHAUSTED,
  BACKPRESSURE: grpc.status.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: grpc.status.DEADLINE_EXCEEDED,
  STAGE_TIMEOUT: grpc.status.DEADLINE_EXCEEDED,
  JOB_CANCELLED: grpc.status.CANCELLED,
  MODEL_UNAVAILABLE: grpc.status.UNAVAILABLE,
  UNAUTHENTICATED: grpc.status.UNAUTHENTICATED,
  PERMISSION_DENIED: grpc.status.PERMISSION_DENIED,
};

/**
 * A server-side error as a gRPC status: the status code the client's policy keys on, the message,
 * and the SluiceError code in trailing metadata. Unknown errors are INTERNAL with a generic
 * message (no stack or internals leak to callers).
 *
 * @example
 * callback(toServiceError(err), null);
 */
export function toServiceError(err: unknown): Partial<grpc.ServiceError> {
  const known = isSluiceError(err);
  const e = toSluiceError(err);
  const metadata = new grpc.Metadata();
  metadata.set(ERROR_CODE_KEY, e.code);
  return {
    code: TO_STATUS[e.code] ?? grpc.status.INTERNAL,
    details: known ? e.message : "internal error in the model server",
    metadata,
  };
}

/**
 * The rule book for a failed call, by gRPC status (ISSUE: model workers):
 * UNAVAILABLE and DEADLINE_EXCEEDED → MODEL_UNAVAILABLE (retried with backoff; counts toward the
 * breaker); RESOURCE_EXHAUSTED → MODEL_OVERLOADED (retried with backoff, narrows the in-flight
 * window; not a breaker failure); FAILED_PRECONDITION → DEVICE_UNAVAILABLE (fails fast, no retry);
 * INVALID_ARGUMENT → MODEL_REJECTED (the document fails); UNAUTHENTICATED / PERMISSION_DENIED →
 * the same codes (configuration, not retried). Anything else is MODEL_BAD_RESPONSE (retried).
 */
function codeFor(status: grpc.status): ErrorCode {
  switch (status) {
    case grpc.status.UNAVAILABLE:
    case grpc.status.DEADLINE_EXCEEDED:
      return "MODEL_UNAVAILABLE";
    case grpc.status.RESOURCE_EXHAUSTED:
      return "MODEL_OVERLOADED";
    case grpc.status.FAILED_PRECONDITION:
      return "DEVICE_UNAVAILABLE";
    case grpc.status.INVALID_ARGUMENT:
      return "MODEL_REJECTED";
    case grpc.status.UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc.status.PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    default:
      return "MODEL_BAD_RESPONSE";
  }
}

/**
 * A client-side gRPC failure as the SluiceError whose class decides retry and breaker. The
 * server's own code (trailing metadata) refines it where it agrees with the status rule
 * (VALIDATION_FAILED stays a user error); the status always decides retryability.
 *
 * @example
 * client.Embed(request, (err, reply) => err ? reject(fromServiceError(err, "Embed", address)) : resolve(reply));
 */
export function fromServiceError(err: grpc.ServiceError, method: string, address: string): SluiceError {
  const code = codeFor(err.code);
  const serverCode = err.metadata?.get(ERROR_CODE_KEY)[0];
  const refined =
    typeof serverCode === "string" &&
    serverCode in ERROR_CODES &&
    ERROR_CODES[serverCode as ErrorCode].retryable === ERROR_CODES[code].retryable
      ? (serverCode as ErrorCode)
      : code;
  const status = grpc.status[err.code] ?? String(err.code);
  return new SluiceError(refined, `model server ${address} ${method}: ${status}: ${err.details || err.message}`, {
    details: { grpcStatus: status, method, address },
    cause: err,
  });
}
