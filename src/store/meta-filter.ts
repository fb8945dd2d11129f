import { SluiceError } from "../contracts/errors.ts";
import { parseMetaFilter, type MetaFilter } from "../contracts/meta-filter.ts";

export { MetaFilterSchema, metaFilterKey, parseMetaFilter, type MetaFilter } from "../contracts/meta-filter.ts";

type Condition = MetaFilter[string];

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
