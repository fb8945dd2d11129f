import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { Sluice } from "../../engine/sluice.ts";
import { responses, toDocSchema } from "../doc-schema.ts";
import { CollectionParamsSchema } from "../schemas.ts";
import { TenantScope } from "../tenant-scope.ts";
import { validate } from "../validate.ts";

const CollectionSchema = z
  .object({
    name: z.string(),
    documents: z.int(),
    chunks: z.int(),
    pending: z.int().describe("accepted documents not indexed yet"),
  })
  .describe("Collection");

/**
 * `GET /v1/collections/:c` → `{"name","documents","chunks","pending"}`, or 404 `COLLECTION_NOT_FOUND`
 * (a collection exists once a document is accepted for it; another tenant's is absent too).
 * Register under `/v1`.
 *
 * @example
 * await app.register(collectionRoutes({ sluice }), { prefix: "/v1" });
 */
export const collectionRoutes = (options: { sluice: Sluice }): FastifyPluginAsync =>
  async function collectionRoutes(app) {
    const { sluice } = options;
    app.get(
      "/collections/:c",
      {
        schema: {
          summary: "Collection statistics",
          tags: ["collections"],
          params: toDocSchema(CollectionParamsSchema),
          response: responses({ 200: ["The collection", CollectionSchema] }, [400, 404]),
        },
      },
      async (request) => {
        const { c } = validate(CollectionParamsSchema, request.params, "path");
        const scope = TenantScope.of(request.principal);
        const info = await scope.guard(sluice.store, c, () => sluice.stats(scope.internal(c)));
        return { name: c, documents: info.documents, chunks: info.chunks, pending: info.pending };
      },
    );
  };
