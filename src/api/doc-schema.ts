import { z } from "zod";
import { httpReason } from "../contracts/errors.ts";
import { ErrorBodySchema } from "./schemas.ts";

/** A JSON Schema object as Fastify route schemas and @fastify/swagger take it. */
export type JsonSchema = Record<string, unknown>;

/** `z.int()` implies ±2^53-1 bounds; in the document they are noise, so leave them out. */
function dropSafeIntegerBounds(ctx: { jsonSchema: JsonSchema }): void {
  if (ctx.jsonSchema["minimum"] === Number.MIN_SAFE_INTEGER) delete ctx.jsonSchema["minimum"];
  if (ctx.jsonSchema["maximum"] === Number.MAX_SAFE_INTEGER) delete ctx.jsonSchema["maximum"];
}

/**
 * Converts a zod schema to the JSON Schema that goes into a route's `schema` for
 * `/openapi.json` (OpenAPI 3.0 dialect, no `$schema` key). Refinements that JSON Schema cannot
 * express (unique ids, "exactly one of") are enforced by `validate()` only.
 *
 * @example
 * app.post("/v1/query", { schema: { body: toDocSchema(QueryBodySchema) } }, handler);
 */
export function toDocSchema(schema: z.ZodType, io: "input" | "output" = "input"): JsonSchema {
  const { $schema: _dialect, ...rest } = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io,
    unrepresentable: "any",
    override: dropSafeIntegerBounds,
  }) as JsonSchema;
  return rest;
}

/**
 * A `schema.response` map: each success status with its description and zod schema, plus the
 * shared error body under each error status listed. Documentation only — the serializer
 * compiler in `app.ts` ignores it.
 *
 * @example
 * schema: { response: responses({ 200: ["The job", JobSchema] }, [404, 409]) }
 */
export function responses(
  success: Record<number, readonly [description: string, schema: z.ZodType | null]>,
  errorStatuses: readonly number[],
): Record<number, JsonSchema> {
  const out: Record<number, JsonSchema> = {};
  for (const [status, [description, schema]] of Object.entries(success)) {
    out[Number(status)] =
      schema === null ? { description, type: "null" } : { ...toDocSchema(schema, "output"), description };
  }
  const error = toDocSchema(ErrorBodySchema, "output");
  for (const status of errorStatuses) out[status] = { ...error, description: httpReason(status) };
  return out;
}
