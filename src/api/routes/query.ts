import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { AnswerSchema } from "../../contracts/query.ts";
import { MetaFilterSchema } from "../../store/meta-filter.ts";
import type { Sluice } from "../../engine/sluice.ts";
import { RETRIEVAL_MODES } from "../../retrieval/retriever.ts";
import { AdmissionQueue } from "../admission/admission-queue.ts";
import { responses, toDocSchema } from "../doc-schema.ts";
import { CollectionNameSchema } from "../schemas.ts";
import { TenantScope } from "../tenant-scope.ts";
import { validate } from "../validate.ts";

/** Body of `POST /v1/query`. */
export const QueryBodySchema = z.strictObject({
  collection: CollectionNameSchema,
  query: z
    .string()
    .min(1)
    .max(10_000)
    .refine((q) => q.trim() !== "", "must not be blank"),
  mode: z.enum(RETRIEVAL_MODES).optional().describe('Default "hybrid"'),
  k: z.int().min(1).max(100).optional().describe("Results to return (default 10)"),
  answer: z.boolean().optional().describe("Write a cited answer (default true)"),
  rerank: z.boolean().optional().describe("Rerank the candidates before answering (default retrieval.rerank.enabled)"),
  filter: MetaFilterSchema.optional().describe(
    'Only documents whose metadata matches, e.g. {"year": {"gte": 2020}, "lang": "th"}; applied inside each retriever',
  ),
  pipeline: z
    .string()
    .regex(/^[a-z][a-z0-9_-]{0,63}$/, "a query pipeline's name (lowercase letters, digits, - and _), not a file")
    .optional()
    .describe(
      'The query pipeline to run: a shipped one ("query") or one named in retrieval.pipelines (default retrieval.pipeline)',
    ),
  weights: z
    .strictObject({
      lexical: z.number().min(0).max(100).optional(),
      dense: z.number().min(0).max(100).optional(),
      sparse: z.number().min(0).max(100).optional(),
    })
    .optional()
    .describe("This query's weights in hybrid fusion, by retriever (default retrieval.weights; 0 leaves one out)"),
  explain: z
    .boolean()
    .optional()
    .describe("Give each result its score in every retriever's list (scores: lexical, dense, sparse, fused, rerank)"),
  cursor: z
    .string()
    .min(1)
    .max(2000)
    .optional()
    .describe("A previous response's nextCursor: the next k results of the same query (later pages are not answered)"),
});

const QueryResponseSchema = z
  .object({
    query: z.string(),
    mode: z.enum(RETRIEVAL_MODES),
    results: z.array(
      z.object({
        docId: z.string(),
        chunkId: z.string(),
        score: z.number(),
        text: z.string(),
        source: z.string(),
        title: z.string(),
        page: z.int().nullable(),
        scores: z
          .record(z.string(), z.number())
          .optional()
          .describe("with explain: the result's score in each retriever's list it is in, fused, and rerank"),
      }),
    ),
    answer: AnswerSchema.optional(),
    pending: z
      .int()
      .optional()
      .describe("set when nothing of the collection is indexed yet: its documents still to come"),
    rerankedBy: z.string().optional().describe("the reranker that ordered the results (scores are its scores)"),
    nextCursor: z.string().optional().describe("pass as cursor for the next k results; absent when none can follow"),
  })
  .describe("QueryResponse");

/**
 * `POST /v1/query` → the facade's QueryResponse (`{"results":[...],"answer":{"text","citations"}}`),
 * the same shape as `sluice query --json`, over the caller's tenant's collection only, admitted
 * by `api.queries` (503 `OVERLOADED` with `Retry-After` past its limits). Register
 * under `/v1`.
 *
 * @example
 * await app.register(queryRoutes({ sluice }), { prefix: "/v1" });
 */
export const queryRoutes = (options: { sluice: Sluice }): FastifyPluginAsync =>
  async function queryRoutes(app) {
    const { sluice } = options;
    // One queue per server: its limits bound this process's work, whatever other servers do.
    const admission = new AdmissionQueue(sluice.config.api.queries, {
      onAdmitted: sluice.metrics.onQueryAdmitted,
      onRefused: sluice.metrics.onQueryRefused,
    });
    app.post(
      "/query",
      {
        schema: {
          summary: "Search a collection and answer with citations",
          tags: ["query"],
          body: toDocSchema(QueryBodySchema),
          response: responses({ 200: ["Ranked chunks and a cited answer", QueryResponseSchema] }, [400, 404, 409, 503]),
        },
      },
      async (request) => {
        const body = validate(QueryBodySchema, request.body, "body");
        const scope = TenantScope.of(request.principal);
        return admission.run(scope.tenant, () =>
          scope.guard(sluice.store, body.collection, () =>
            sluice.query({ ...body, collection: scope.internal(body.collection) }),
          ),
        );
      },
    );
  };
