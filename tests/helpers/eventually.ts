/**
 * Polls until `predicate` holds, every `intervalMs`, or fails after `ms` naming `what`: a test waits
 * for the condition it needs instead of sleeping a guessed time, and a broken build fails instead
 * of hanging.
 *
 * @example
 * await eventually(() => embedder.aborted === 1, "the server to abort the batch");
 */
export async function eventually(
  predicate: () => boolean | Promise<boolean>,
  what: string,
  ms = 10_000,
  intervalMs = 10,
): Promise<void> {
  const until = Date.now() + ms;
  while (!(await predicate())) {
    if (Date.now() > until) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
