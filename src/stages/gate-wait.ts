import { z } from "zod";
import { SluiceError, toSluiceError } from "../contracts/errors.ts";
import { WaitFor } from "../pipeline/control.ts";
import type { StageContext } from "../pipeline/define-stage.ts";

/**
 * How a gate waits for what it needs (a node's `wait` config): it looks again every `recheckMs`
 * and gives up `deadlineMs` after the document was accepted.
 */
export const GateWaitSchema = z
  .object({
    /** How long a suspended document waits before it is tried again. Default 30 s. */
    recheckMs: z.number().int().positive().default(30_000),
    /** How long after acceptance a document may wait in all; then it fails. Default 24 h. */
    deadlineMs: z.number().int().positive().default(86_400_000),
  })
  .strict()
  .prefault({});
export type GateWait = z.infer<typeof GateWaitSchema>;

/** Codes that mean "a service this gate needs is away for now", not "this document is bad". */
const AWAY = new Set(["MODEL_UNAVAILABLE", "MODEL_BAD_RESPONSE", "CIRCUIT_OPEN"]);

/** Whether a failure is one a gate waits out: an OCR service or PDF host that is away for now. */
export function isAway(err: unknown, codes: ReadonlySet<string> = AWAY): boolean {
  return codes.has(toSluiceError(err).code);
}

function duration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000} h`;
  if (ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Math.round(ms / 1000)} s`;
}

/**
 * Suspends the document on `condition` (no lease held, no attempt spent; the queue runs it again at
 * the next recheck, or when `condition` is signalled), or, past the gate's deadline, fails it with
 * `GATE_DEADLINE_EXCEEDED` quoting `reason`. Never returns.
 *
 * @example
 * if (isAway(err)) suspend(ctx, config.wait, "ocr-ready", `OCR is unavailable (${toSluiceError(err).message})`);
 */
export function suspend(ctx: StageContext, wait: GateWait, condition: string, reason: string, now = Date.now()): never {
  const deadline = (ctx.acceptedAt ?? now) + wait.deadlineMs;
  if (now >= deadline)
    throw new SluiceError(
      "GATE_DEADLINE_EXCEEDED",
      `not ready within ${duration(wait.deadlineMs)} of being accepted: ${reason}`,
      { details: { condition, deadline: new Date(deadline).toISOString() } },
    );
  const until = Math.min(deadline, now + wait.recheckMs);
  throw new WaitFor(condition, {
    until,
    reason: `${reason}; trying again at ${new Date(until).toISOString()}, giving up at ${new Date(deadline).toISOString()}`,
  });
}
