import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { SluiceError } from "../../contracts/errors.ts";
import type { Sluice } from "../../engine/sluice.ts";
import { responses, toDocSchema } from "../doc-schema.ts";
import { validate } from "../validate.ts";

const SeqParamsSchema = z.strictObject({
  seq: z.coerce.number().int().positive().describe("Spool record number (from the dead-letter list)"),
});
const DlqQuerySchema = z.strictObject({ limit: z.coerce.number().int().min(1).max(10_000).default(100) });
const StatsSchema = z.object({
  pending: z.object({ high: z.number(), normal: z.number(), bulk: z.number() }),
  leased: z.number(),
  waiting: z.number().describe("parked until a condition holds or a time passes"),
  suspects: z.number().describe("recovered from a crashed worker, to run alone"),
  bytes: z.number(),
  oldestAgeSeconds: z.number(),
  oldestAgeSecondsByLane: z
    .object({ high: z.number(), normal: z.number(), bulk: z.number() })
    .describe("age of each lane's oldest live record (0: none)"),
  dead: z.number(),
  tombstoned: z.number(),
});
const DeadLetterSchema = z.object({
  seq: z.number(),
  jobId: z.string(),
  docId: z.string(),
  lane: z.string(),
  attempts: z.number(),
  error: z.string(),
  createdMs: z.number(),
});

/**
 * Spool routes, under `/v1`: `GET /spool` (live records per lane, bytes, oldest age, dead
 * letters), `GET /spool/dlq`, `POST /spool/dlq/:seq/retry` and `DELETE /spool/dlq/:seq`.
 *
 * @example
 * await app.register(spoolRoutes({ sluice }), { prefix: "/v1" });
 */
export const spoolRoutes = (options: { sluice: Sluice }): FastifyPluginAsync =>
  async function spoolRoutes(app) {
    const { sluice } = options;
    const params = toDocSchema(SeqParamsSchema);
    const notDead = (seq: number) =>
      new SluiceError("NOT_FOUND", `spool record ${seq} is not in the dead-letter lane`, { details: { seq } });

    app.get(
      "/spool",
      {
        schema: {
          summary: "Spool state",
          tags: ["spool"],
          response: responses({ 200: ["Spool statistics", StatsSchema] }, []),
        },
      },
      async () => sluice.spoolStats(),
    );

    app.get(
      "/spool/dlq",
      {
        schema: {
          summary: "Dead letters",
          tags: ["spool"],
          querystring: toDocSchema(DlqQuerySchema),
          response: responses(
            { 200: ["Dead letters, oldest first", z.object({ deadLetters: z.array(DeadLetterSchema) })] },
            [400],
          ),
        },
      },
      async (request) => ({
        deadLetters: await sluice.deadLetters(validate(DlqQuerySchema, request.query, "query").limit),
      }),
    );

    app.post(
      "/spool/dlq/:seq/retry",
      {
        schema: {
          summary: "Send a dead letter back to work",
          tags: ["spool"],
          params,
          response: responses({ 200: ["Retried", z.object({ seq: z.number(), retried: z.boolean() })] }, [400, 404]),
        },
      },
      async (request) => {
        const { seq } = validate(SeqParamsSchema, request.params, "path");
        if (!(await sluice.retryDeadLetter(seq))) throw notDead(seq);
        return { seq, retried: true };
      },
    );

    app.delete(
      "/spool/dlq/:seq",
      {
        schema: {
          summary: "Drop a dead letter for good",
          tags: ["spool"],
          params,
          response: responses({ 204: ["Dropped", z.null()] }, [400, 404]),
        },
      },
      async (request, reply) => {
        const { seq } = validate(SeqParamsSchema, request.params, "path");
        if (!(await sluice.dropDeadLetter(seq))) throw notDead(seq);
        return reply.code(204).send();
      },
    );
  };
