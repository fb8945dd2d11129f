import { z } from "zod";
import { SluiceError } from "../contracts/errors.ts";

const Scalar = z.union([z.string(), z.number(), z.boolean()]);
const Range = z
  .object({
    eq: Scalar.optional(),
    in: z.array(Scalar).min(1).max(1000).optional(),
    gt: z.union([z.string(), z.number()]).optional(),
    gte: z.union([z.string(), z.number()]).optional(),
    lt: z.union([z.string(), z.number()]).optional(),
    lte: z.union([z.string(), z.number()]).optional(),
  })
  .strict()
  .refine((r) => Object.keys(r).length > 0, "a condition needs at least one of eq, in, gt, gte, lt, lte");

/**
 * A filter on document metadata (`meta` as submitted): every key must match. A scalar is
 * equality; an object holds `eq`, `in` (any of) and range bounds `gt`/`gte`/`lt`/`lte` (numbers
 * compare as numbers, strings as strings, so ISO dates work). A missing field never matches.
 *
 * @example
 * { year: { gte: 2020 }, lang: "th", kind: { in: ["trial", "paper"] } }
 */
export const MetaFilterSchema = z
  .record(z.string().min(1).max(200), z.union([Scalar, Range]))
  .refine((f) => Object.keys(f).length <= 32, "at most 32 keys");
export type MetaFilter = z.infer<typeof MetaFilterSchema>;
type Condition = MetaFilter[string];

/** The filter, validated; a bad one is VALIDATION_FAILED naming the key. */
export function parseMetaFilter(input: unknown): MetaFilter {
  const parsed = MetaFilterSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new SluiceError(
    "VALIDATION_FAILED",
    `filter${issue.path.length ? `.${issue.path.join(".")}` : ""}: ${issue.message}`,
    { details: { path: ["filter", ...issue.path.map(String)] } },
  );
}

/** Same filter, same key (key order does not matter): for caches. */
export function metaFilterKey(filter: MetaFilter): string {
  return JSON.stringify(
    Object.keys(filter)
      .sort()
      .map((k) => [k, filter[k]]),
  );
}

function compare(value: unknown, bound: string | number): number | null {
  if (typeof bound === "number") return typeof value === "number" ? value - bound : null;
  return typeof value === "string" ? (value < bound ? -1 : value > bound ? 1 : 0) : null;
}

function matchesCondition(value: unknown, condition: Condition): boolean {
  if (value === undefined || value === null) return false;
  if (typeof condition !== "object") return value === condition;
  if (condition.eq !== undefined && value !== condition.eq) return false;
  if (condition.in !== undefined && !condition.in.includes(value as string | number | boolean)) return false;
  const checks: Array<[string | number | undefined, (c: number) => boolean]> = [
    [condition.gt, (c) => c > 0],
    [condition.gte, (c) => c >= 0],
    [condition.lt, (c) => c < 0],
    [condition.lte, (c) => c <= 0],
  ];
  for (const [bound, ok] of checks) {
    if (bound === undefined) continue;
    const c = compare(value, bound);
    if (c === null || !ok(c)) return false;
  }
  return true;
}

/** Whether a document's metadata passes the filter. */
export function matchesMetaFilter(meta: Record<string, unknown>, filter: MetaFilter): boolean {
  for (const [key, condition] of Object.entries(filter)) if (!matchesCondition(meta[key], condition)) return false;
  return true;
}

const CLI_FILTER = /^([^=<>!]+?)\s*(>=|<=|=|>|<)\s*(.*)$/;

/**
 * The CLI's `--filter` expressions: `key=value`, `key>=v`, `key<=v`, `key>v`, `key<v`, and
 * `key=a,b` for any of several; a value that reads as a number or true/false is one.
 *
 * @example
 * parseCliFilter(["year>=2020", "lang=th"]); // { year: { gte: 2020 }, lang: "th" }
 */
export function parseCliFilter(expressions: readonly string[]): MetaFilter {
  const filter: Record<string, unknown> = {};
  const scalar = (s: string): string | number | boolean =>
    s === "true" ? true : s === "false" ? false : s.trim() !== "" && Number.isFinite(Number(s)) ? Number(s) : s;
  for (const expression of expressions) {
    const m = CLI_FILTER.exec(expression);
    if (!m)
      throw new SluiceError(
        "VALIDATION_FAILED",
        `--filter "${expression}": expected key=value, key>=value, key<=value, key>value or key<value`,
      );
    const [, key = "", op, raw = ""] = m;
    const k = key.trim();
    const current = (typeof filter[k] === "object" ? filter[k] : {}) as Record<string, unknown>;
    if (op === "=") {
      const values = raw.split(",").map(scalar);
      filter[k] = values.length > 1 ? { ...current, in: values } : values[0];
      continue;
    }
    const name = { ">=": "gte", "<=": "lte", ">": "gt", "<": "lt" }[op as ">=" | "<=" | ">" | "<"];
    const value = scalar(raw);
    filter[k] = { ...current, [name]: typeof value === "boolean" ? raw : value };
  }
  return parseMetaFilter(filter);
}
