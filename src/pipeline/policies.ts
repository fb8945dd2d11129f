import {
  CircuitState,
  ConsecutiveBreaker,
  ExponentialBackoff,
  TimeoutStrategy,
  circuitBreaker,
  decorrelatedJitterGenerator,
  handleWhen,
  noJitterGenerator,
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
 * Builds one cockatiel policy from a spec: retry (outermost) → breaker → timeout (innermost),
 * so every attempt gets its own deadline and each failed attempt counts toward the breaker.
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
  if (spec.timeoutMs !== undefined) parts.push(timeout(spec.timeoutMs, TimeoutStrategy.Cooperative));
  return wrap(...parts) as StagePolicy;
}
