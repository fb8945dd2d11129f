import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  decorrelatedJitterGenerator,
  handleWhen,
  noJitterGenerator,
  noop,
  retry,
  timeout,
  wrap,
  type IPolicy,
  type IRetryContext,
  type IDefaultPolicyContext,
} from "cockatiel";
import { z } from "zod";
import type { BreakerState } from "../contracts/breaker-state.ts";
import { isPushback, isRetryable } from "../contracts/errors.ts";
import { isControlSignal } from "./control.ts";
import { TokenBucket } from "./token-bucket.ts";

/** A named resilience policy as YAML declares it. */
export const PolicySpecSchema = z
  .object({
    retry: z
      .object({
        attempts: z.number().int().min(1).max(100).default(3),
        initialDelayMs: z.number().int().min(0).default(200),
        maxDelayMs: z.number().int().min(0).default(10_000),
        jitter: z.boolean().default(true),
      })
      .strict()
      .optional(),
    timeoutMs: z.number().int().positive().optional(),
    /**
     * A token bucket: each attempt of a stage naming this policy waits its turn (before its
     * timeout starts). Shared by every node of the pipeline that names the policy.
     */
    rateLimit: z
      .object({
        perSecond: z.number().positive(),
        /** Attempts allowed back to back after a quiet spell. */
        burst: z.number().int().min(1).default(1),
      })
      .strict()
      .optional(),
    breaker: z
      .object({
        /** Consecutive failures that open the circuit. */
        threshold: z.number().int().min(1).default(5),
        halfOpenAfterMs: z.number().int().min(1).default(10_000),
      })
      .strict()
      .optional(),
  })
  .strict();
export type PolicySpec = z.infer<typeof PolicySpecSchema>;
/** A policy's `retry` section, with its defaults filled. */
export type RetrySpec = NonNullable<PolicySpec["retry"]>;

export type StagePolicy = IPolicy<IDefaultPolicyContext & Partial<IRetryContext>>;

export type { BreakerState };

/** Observers of a built policy. */
export interface PolicyHooks {
  /** Called with `closed` when the breaker is built, then on every change of its state. */
  onBreakerState?: (state: BreakerState) => void;
  /** The bucket of `rateLimit`, when several nodes share the policy (default: a bucket of its own). */
  rateLimiter?: TokenBucket;
}

/** Waits for a token, then runs the attempt: inside retry (each attempt waits), outside the timeout. */
class RateLimitPolicy implements IPolicy<IDefaultPolicyContext> {
  declare readonly _altReturn: never;
  readonly onSuccess = noop.onSuccess;
  readonly onFailure = noop.onFailure;
  readonly #bucket: TokenBucket;

  constructor(bucket: TokenBucket) {
    this.#bucket = bucket;
  }

  async execute<T>(fn: (context: IDefaultPolicyContext) => PromiseLike<T> | T, signal?: AbortSignal): Promise<T> {
    const context = { signal: signal ?? new AbortController().signal };
    await this.#bucket.take(context.signal);
    return fn(context);
  }
}

const BREAKER_STATES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half-open",
  [CircuitState.Isolated]: "isolated",
};

// Only transient failures count: a user error (a corrupt PDF) is neither retried nor a reason
// to open a breaker, and control-flow signals are not failures at all.
const transient = handleWhen((err) => !isControlSignal(err) && isRetryable(err));
// A breaker guards against a callee that is down or unreachable; one that answers "slow down"
// (RESOURCE_EXHAUSTED, a full spool) is alive, so pushback is retried but never opens it.
const breakerFailure = handleWhen((err) => !isControlSignal(err) && isRetryable(err) && !isPushback(err));

/**
 * Builds one cockatiel policy from a spec: retry (outermost) → rate limit → breaker → timeout
 * (innermost), so every attempt waits its turn, gets its own deadline and counts toward the breaker.
 * Build it once per pipeline: breakers only work when shared between executions. `hooks`
 * observe the breaker (its state gauge in `/metrics`).
 *
 * @example
 * const policy = buildPolicy({
 *   retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 2000, jitter: true },
 *   timeoutMs: 30_000,
 * });
 * await policy.execute(({ signal }) => fetch(url, { signal }));
 */
export function buildPolicy(spec: PolicySpec, hooks: PolicyHooks = {}): StagePolicy {
  const parts: Array<IPolicy<IDefaultPolicyContext, unknown>> = [];
  if (spec.retry && spec.retry.attempts > 1) {
    parts.push(
      retry(transient, {
        maxAttempts: spec.retry.attempts - 1,
        backoff: spec.retry.jitter
          ? new ExponentialBackoff({
              initialDelay: spec.retry.initialDelayMs,
              maxDelay: spec.retry.maxDelayMs,
              generator: decorrelatedJitterGenerator,
            })
          : new ExponentialBackoff({
              initialDelay: spec.retry.initialDelayMs,
              maxDelay: spec.retry.maxDelayMs,
              generator: noJitterGenerator,
            }),
      }),
    );
  }
  if (spec.rateLimit) parts.push(new RateLimitPolicy(hooks.rateLimiter ?? new TokenBucket(spec.rateLimit)));
  if (spec.breaker) {
    const breaker = circuitBreaker(breakerFailure, {
      halfOpenAfter: spec.breaker.halfOpenAfterMs,
      breaker: new ConsecutiveBreaker(spec.breaker.threshold),
    });
    const { onBreakerState } = hooks;
    if (onBreakerState) {
      onBreakerState(BREAKER_STATES[breaker.state]);
      breaker.onStateChange((state) => onBreakerState(BREAKER_STATES[state]));
    }
    parts.push(breaker);
  }
  // Not aborted on return: an attempt that finished has nothing left to stop, and aborting every
  // attempt's signal (a DOMException and an abort event per stage) was a visible share of ingest.
  if (spec.timeoutMs !== undefined)
    parts.push(timeout(spec.timeoutMs, { strategy: TimeoutStrategy.Cooperative, abortOnReturn: false }));
  return wrap(...parts) as StagePolicy;
}
