/**
 * What one request counted against a limit decided.
 *
 * @example
 * const refused: RateLimitDecision = { allowed: false, remaining: 0, retryAfterMs: 41_250 };
 */
export interface RateLimitDecision {
  /** Whether the request is within the limit (and was counted). */
  allowed: boolean;
  /** Requests still allowed in the current window after this one. */
  remaining: number;
  /**
   * When refused: how long until the oldest counted request leaves the window and one more is
   * allowed. 0 when allowed.
   */
  retryAfterMs: number;
}

/**
 * The rate-limit counter port. A limit is a sliding window: a key allows at most `limit`
 * requests in any `windowMs`. `hit` counts one request and decides, atomically, so concurrent
 * requests (from one process or, with a shared backend, from many) can never together pass
 * more than `limit`. A refused request is not counted, so a client that keeps retrying is let
 * in again as soon as the window moves on. A key's state lapses `windowMs` after its last
 * counted request. Adapters sit side by side (`memory/`, `redis/`) and pass one conformance
 * suite (`rate-limit-store.conformance.ts`).
 *
 * @example
 * const decision = await store.hit("answer:ip:127.0.0.1", 10, 60_000);
 * if (!decision.allowed) reply.header("retry-after", Math.ceil(decision.retryAfterMs / 1000));
 */
export interface RateLimitStore {
  hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision>;
  close(): Promise<void>;
}
