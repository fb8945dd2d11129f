import type { FastifyError, FastifyInstance } from "fastify";
import { isPushback } from "../contracts/errors.ts";
import { toErrorBody } from "./error-body.ts";

/** How much of an unknown path the 404 message repeats back. */
const MAX_ECHOED_PATH = 200;

/**
 * Installs the API's one error handler and its not-found handler, so every error — a
 * SluiceError from the facade, a zod validation failure, a Fastify body-parser error, an
 * unknown route or a bug — is answered with `{statusCode, code, error, message}`. Server-side
 * failures are logged with their stack; the client only sees "Internal Server Error".
 * Call it on the root instance before registering routes, so every route group inherits it.
 *
 * @example
 * const app = Fastify();
 * registerErrorHandling(app);
 */
export function registerErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    const body = toErrorBody(err, { bodyLimit: request.routeOptions.bodyLimit });
    // Backpressure tells the client when to come back (RFC 9110 Retry-After, in seconds).
    const retryAfter = (err as { details?: { retryAfterSeconds?: unknown } }).details?.retryAfterSeconds;
    if (body.statusCode === 429 || body.statusCode === 503)
      void reply.header("retry-after", String(typeof retryAfter === "number" ? Math.ceil(retryAfter) : 1));
    // Pushback (a saturated server, a store away for a moment) is the system working: no stack.
    if (body.statusCode >= 500 && !isPushback(err)) request.log.error({ err }, "request failed");
    else if (body.statusCode >= 500) request.log.warn({ code: body.code, message: body.message }, "request refused");
    else request.log.info({ code: body.code, message: body.message }, "request rejected");
    return reply.code(body.statusCode).type("application/json; charset=utf-8").send(body);
  });
  app.setNotFoundHandler((request, reply) => {
    const path = (request.url.split("?")[0] ?? "/").slice(0, MAX_ECHOED_PATH);
    return reply
      .code(404)
      .send({ statusCode: 404, code: "NOT_FOUND", error: "Not Found", message: `no route ${request.method} ${path}` });
  });
}
