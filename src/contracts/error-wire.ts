import { ERROR_CODES, type ErrorCode, isSluiceError, SluiceError } from "./errors.ts";

/** An error as it crosses a thread (structured clone keeps no class): enough to rebuild it. */
export interface ErrorWire {
  name: string;
  message: string;
  code?: string;
  details?: Record<string, unknown>;
}

/**
 * The error as a plain object to post to another thread.
 *
 * @example
 * port.postMessage({ id, ok: false, error: errorToWire(err) });
 */
export function errorToWire(err: unknown): ErrorWire {
  if (isSluiceError(err))
    return { name: err.name, message: err.message, code: err.code, ...(err.details ? { details: err.details } : {}) };
  if (err instanceof Error) return { name: err.name, message: err.message };
  return { name: "Error", message: String(err) };
}

/**
 * The error again on this side: a `SluiceError` with the same code, message and details when it
 * was one, else an `Error` with the same name and message (so retry rules treat it as before).
 *
 * @example
 * if (!reply.ok) throw errorFromWire(reply.error);
 */
export function errorFromWire(wire: ErrorWire): Error {
  if (wire.code !== undefined && Object.hasOwn(ERROR_CODES, wire.code))
    return new SluiceError(wire.code as ErrorCode, wire.message, wire.details ? { details: wire.details } : {});
  const err = new Error(wire.message);
  err.name = wire.name;
  return err;
}
