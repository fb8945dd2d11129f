import type { FastifyReply, FastifyRequest } from "fastify";
import { SluiceError } from "../../contracts/errors.ts";
import { clientKey } from "./client-key.ts";
import type { LimitFor, NamedLimit } from "./limit-for-request.ts";
import type { RateLimitStore } from "./rate-limit-store.ts";

/**
 * Options of {@link rateLimit}.
 *
 * @example
 * const options: RateLimitOptions = {
 *   store: new MemoryRateLimitStore(),
 *   limitFor: limitForRequest(config.api.rateLimits),
 * };
 */
export interface RateLimitOptions {
  store: RateLimitStore;
  /** Which limit a request counts against (see `limitForRequest`). */
  limitFor: LimitFor;
  /** Whose budget a request draws on; default {@link clientKey} (principal, else client IP). */
  keyOf?: (request: FastifyRequest) => string;
}

const WHAT: Record<string, string> = { answer: "answered queries", query: "retrieval-only queries", ingest: "uploads" };

function describeLimit(limit: NamedLimit): string {
  const what = WHAT[limit.name] ?? `${limit.name} requests`;
  const per = limit.windowMs % 1000 === 0 ? `${limit.windowMs / 1000} s` : `${limit.windowMs} ms`;
  return `${limit.max} ${what} per ${per}`;
}

/**
 * A Fastify `preHandler` hook that applies per-user, per-route rate limits: it runs after the
 * auth hook (`onRequest`) has set the principal and after the body is parsed (the query limit
 * depends on `answer`). Each counted request gets `x-ratelimit-limit` and
 * `x-ratelimit-remaining`; one over its limit is refused with 429 `RATE_LIMITED` and a
 * `Retry-After` in whole seconds (rounded up), in the API's one error body. If the store fails
 * (Redis unreachable), the request is let through and the failure logged: losing the limiter
 * must not take the API down with it.
 *
 * @example
 * app.addHook(
 *   "preHandler",
 *   rateLimit({ store: new MemoryRateLimitStore(), limitFor: limitForRequest(config.api.rateLimits) }),
 * );
 */
export const rateLimit = (options: RateLimitOptions) =>
  async function rateLimit(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const limit = options.limitFor(request);
    if (!limit) return;
    const who = (options.keyOf ?? clientKey)(request);
    let decision;
    try {
      decision = await options.store.hit(`${limit.name}:${who}`, limit.max, limit.windowMs);
    } catch (err) {
      request.log.warn({ err, limit: limit.name }, "rate limit store failed; request let through");
      return;
    }
    void reply.header("x-ratelimit-limit", String(limit.max));
    void reply.header("x-ratelimit-remaining", String(decision.remaining));
    if (decision.allowed) return;
    const retryAfterSeconds = Math.ceil(decision.retryAfterMs / 1000);
    throw new SluiceError(
      "RATE_LIMITED",
      `rate limit exceeded: at most ${describeLimit(limit)}; retry in ${retryAfterSeconds} s`,
      {
        details: { limit: limit.name, max: limit.max, windowMs: limit.windowMs, retryAfterSeconds },
      },
    );
  };
