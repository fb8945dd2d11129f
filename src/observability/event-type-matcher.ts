/**
 * A matcher for CloudEvents types from glob patterns (`*` is the wildcard). A pattern without the
 * `io.sluice.` prefix matches the short type too, so `job.*` and `io.sluice.job.*` are the same
 * filter. No pattern matches everything.
 *
 * @example
 * const match = eventTypeMatcher(["stage.*"]);
 * match("io.sluice.stage.failed"); // true
 * match("io.sluice.job.completed"); // false
 */
export function eventTypeMatcher(patterns: readonly string[]): (type: string) => boolean {
  if (patterns.length === 0) return () => true;
  const res = patterns.map(
    (p) =>
      new RegExp(
        `^${p
          .split("*")
          .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
          .join(".*")}$`,
      ),
  );
  return (type) => res.some((re) => re.test(type) || re.test(type.replace(/^io\.sluice\./, "")));
}
