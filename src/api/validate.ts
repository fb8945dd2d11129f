import type { z } from "zod";
import { SluiceError } from "../contracts/errors.ts";

const MAX_REPORTED_ISSUES = 5;

/**
 * Parses `value` with a zod schema, or throws `VALIDATION_FAILED` whose message names each bad
 * field (`body field "k": Too small: expected number to be >=1`). Route handlers call it on
 * `request.body`, `request.params` and `request.query`; Fastify's own schema validation is off
 * (see `app.ts`), so this is the only validator and every 400 has one shape.
 *
 * @example
 * const { query, k } = validate(QueryBodySchema, request.body, "body");
 */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  // "required" reads better than zod's "expected string, received undefined" for a missing field.
  const parsed = schema.safeParse(value, {
    error: (issue) => (issue.code === "invalid_type" && issue.input === undefined ? "required" : undefined),
  });
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues;
  const reasons = issues.slice(0, MAX_REPORTED_ISSUES).map((issue) => {
    const field = issue.path.map(String).join(".");
    return field === "" ? `${where}: ${issue.message}` : `${where} field "${field}": ${issue.message}`;
  });
  if (issues.length > MAX_REPORTED_ISSUES) reasons.push(`and ${issues.length - MAX_REPORTED_ISSUES} more`);
  const fields = issues.map((i) => i.path.map(String).join("."));
  throw new SluiceError("VALIDATION_FAILED", `invalid request: ${reasons.join("; ")}`, { details: { where, fields } });
}
