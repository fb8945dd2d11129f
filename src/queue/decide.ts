import { isRefunded, isSluiceError, toSluiceError } from "../contracts/errors.ts";
import { isWaitFor } from "../pipeline/control.ts";
import type { RetrySpec } from "../pipeline/policies.ts";

/**
 * How a document goes back to the queue after a failed run: `retry` is the pipeline's `requeue`
 * policy (or the engine's default from `spool.maxAttempts` and `spool.retry`), and `deadlineMs`
 * bounds how long after acceptance it may still run.
 */
export interface RequeuePolicy {
  retry: RetrySpec;
  deadlineMs: number;
}

/** What happens to a leased document after its run (or instead of it). */
export type Decision =
  | { action: "complete" }
  | { action: "retry"; delayMs: number; error: string }
  | { action: "refund"; delayMs: number; error: string }
  | { action: "wait"; condition: string; until?: number; reason: string; stage?: string }
  | { action: "dead-letter"; code: string; message: string }
  /** The job was cancelled: the record is retired with it. */
  | { action: "cancelled" }
  /** This worker is stopping: the record goes back at once, no attempt spent. */
  | { action: "hand-back" };

/** Why the run stopped early, when it did not fail on its own. */
export type Interruption = "cancelled" | "stopping" | null;

/** `initialDelay · 2^(n-1)`, capped, with full jitter in [½, 1] when the policy asks for it. */
export function backoffMs(retry: RetrySpec, attempt: number, random: () => number = Math.random): number {
  const raw = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** Math.max(0, attempt - 1));
  return retry.jitter ? raw * (0.5 + random() / 2) : raw;
}

/**
 * Whether a lease may run at all: a document past its attempts (those it spent, and the crashes
 * it caused alone) or past its deadline goes to the dead-letter lane without running again.
 *
 * @example
 * precheck({ attempts: 6, crashes: 5, createdMs }, policy, Date.now()); // dead-letter WORKER_CRASHED
 */
export function precheck(
  lease: { attempts: number; crashes: number; createdMs: number },
  policy: RequeuePolicy,
  now: number,
  source = "document",
): Decision | null {
  const max = policy.retry.attempts;
  if (lease.attempts > max) {
    if (lease.crashes > 0) {
      return {
        action: "dead-letter",
        code: "WORKER_CRASHED",
        message: `${source}: the worker process died ${lease.crashes} time(s) while running this document alone (attempt limit ${max}); it is treated as a poison document`,
      };
    }
    return {
      action: "dead-letter",
      code: "ATTEMPTS_EXHAUSTED",
      message: `${source}: ran ${lease.attempts - 1} times without completing (attempt limit ${max})`,
    };
  }
  if (now - lease.createdMs > policy.deadlineMs) {
    return {
      action: "dead-letter",
      code: "DEADLINE_EXCEEDED",
      message: `${source}: not completed within ${Math.round(policy.deadlineMs / 1000)} s of being accepted`,
    };
  }
  return null;
}

/**
 * The one place a run's end becomes a queue action, from the error table and the YAML policy:
 * success completes; a wait parks; an interruption cancels or hands back; a refunded error (an
 * open breaker, pushback) goes back without spending an attempt; any other retryable error goes
 * back after a backoff while attempts remain; everything else is a dead letter. Pure: the same
 * inputs give the same decision (`random` drives only the jitter).
 *
 * @example
 * decide(new SluiceError("MODEL_UNAVAILABLE", "down"), 2, policy); // { action: "retry", delayMs: 1000…2000, … }
 */
export function decide(
  error: unknown,
  attempts: number,
  policy: RequeuePolicy,
  interruption: Interruption = null,
  random: () => number = Math.random,
): Decision {
  if (interruption === "cancelled") return { action: "cancelled" };
  if (interruption === "stopping") return { action: "hand-back" };
  if (error === null || error === undefined) return { action: "complete" };
  if (isWaitFor(error))
    return {
      action: "wait",
      condition: error.condition,
      ...(error.until !== undefined ? { until: error.until } : {}),
      reason: error.message,
      ...(error.stage !== undefined ? { stage: error.stage } : {}),
    };
  // Unknown errors are retried, as the stage policies retry them.
  const e = isSluiceError(error) ? error : toSluiceError(error, "STAGE_FAILED");
  const reason = `${e.code}: ${e.message}`;
  if (e.retryable && isRefunded(e))
    return { action: "refund", delayMs: backoffMs(policy.retry, 1, random), error: reason };
  if (e.retryable && attempts < policy.retry.attempts)
    return { action: "retry", delayMs: backoffMs(policy.retry, attempts, random), error: reason };
  return { action: "dead-letter", code: e.code, message: e.message };
}
