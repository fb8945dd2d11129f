/**
 * Control-flow signals a stage may throw. They are not failures: the engine checks them by
 * class or by name (they may cross module boundaries) and never retries them.
 */
export class SkipDocument extends Error {
  readonly outcome: string;
  constructor(outcome: string, message = `document skipped: ${outcome}`) {
    super(message);
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
    this.outcome = outcome;
  }
}

export function isSkipDocument(err: unknown): err is SkipDocument {
  return err instanceof SkipDocument || (err instanceof Error && err.name === "SkipDocument");
}

/**
 * A stage cannot go on until something outside the run holds (a parsed PDF is ready): the
 * worker parks the document on `condition` without holding a lease or spending an attempt, and
 * the queue runs it again when `condition` is signalled or at `until`. Gates suspend; they never
 * wait.
 *
 * @example
 * throw new WaitFor(`pdf-ready:${docId}`, { until: Date.now() + 3_600_000, reason: "the PDF is being parsed" });
 */
export class WaitFor extends Error {
  readonly condition: string;
  readonly until: number | undefined;
  /** The node that suspended the run (the executor fills it in). */
  stage: string | undefined;
  constructor(condition: string, options: { until?: number; reason?: string } = {}) {
    super(options.reason ?? `waiting for ${condition}`);
    this.name = new.target.name;
    Object.setPrototypeOf(this, new.target.prototype);
    this.condition = condition;
    this.until = options.until;
    this.stage = undefined;
  }
}

export function isWaitFor(err: unknown): err is WaitFor {
  return (
    err instanceof WaitFor ||
    (err instanceof Error && err.name === "WaitFor" && typeof (err as { condition?: unknown }).condition === "string")
  );
}

/** Skips and waits: signals, not failures; never retried, never counted by a breaker. */
export function isControlSignal(err: unknown): boolean {
  return isSkipDocument(err) || isWaitFor(err);
}
