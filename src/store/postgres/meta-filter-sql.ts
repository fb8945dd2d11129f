import type { MetaFilter } from "../meta-filter.ts";

/** A WHERE condition and its parameters, numbered from a given `$n`. */
export interface SqlCondition {
  sql: string;
  params: unknown[];
}

/**
 * A metadata filter as a condition on `index_documents.meta` (jsonb, aliased `alias`), with
 * exactly `matchesMetaFilter`'s meaning: equality is by JSON value and type (1 is not "1"), a
 * numeric bound passes only numbers, a string bound only strings (compared by code point, as
 * JavaScript's `<` does for the BMP), a missing key or JSON null fails every condition. Equality
 * tests use `@>`, which the GIN index on `meta` answers.
 *
 * @example
 * metaFilterSql({ lang: "th", year: { gte: 2020 } }, "d", 3);
 * // { sql: "d.meta @> $5::jsonb and (jsonb_typeof(d.meta->$3) = 'number' and …) and …",
 * //   params: ["year", 2020, '{"lang":"th"}'] }
 */
export function metaFilterSql(filter: MetaFilter, alias: string, firstParam: number): SqlCondition {
  const params: unknown[] = [];
  const p = (value: unknown): string => {
    params.push(value);
    return `$${firstParam + params.length - 1}`;
  };
  const meta = `${alias}.meta`;
  const equal: Record<string, unknown> = {};
  const parts: string[] = [];
  for (const [key, condition] of Object.entries(filter)) {
    if (typeof condition !== "object") {
      equal[key] = condition;
      continue;
    }
    if (condition.eq !== undefined) equal[key] = condition.eq;
    const k = p(key);
    if (condition.in !== undefined)
      parts.push(`${meta}->${k} = any(${p(condition.in.map((v) => JSON.stringify(v)))}::jsonb[])`);
    for (const [bound, op] of [
      [condition.gt, ">"],
      [condition.gte, ">="],
      [condition.lt, "<"],
      [condition.lte, "<="],
    ] as const) {
      if (bound === undefined) continue;
      parts.push(
        typeof bound === "number"
          ? `(jsonb_typeof(${meta}->${k}) = 'number' and (${meta}->>${k})::numeric ${op} ${p(bound)}::numeric)`
          : `(jsonb_typeof(${meta}->${k}) = 'string' and (${meta}->>${k}) collate "C" ${op} ${p(bound)}::text collate "C")`,
      );
    }
    // An object condition on a missing key fails even with no bound in it ({} matches a present key).
    parts.push(`jsonb_typeof(${meta}->${k}) <> 'null'`);
  }
  if (Object.keys(equal).length > 0) parts.unshift(`${meta} @> ${p(JSON.stringify(equal))}::jsonb`);
  return { sql: parts.length > 0 ? parts.join(" and ") : "true", params };
}
