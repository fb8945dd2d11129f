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
