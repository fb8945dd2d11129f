import { z } from "zod";
import { SluiceError } from "./errors.ts";

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
