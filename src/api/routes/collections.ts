import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { SluiceError } from "../../contracts/errors.ts";
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

const DocumentListQuerySchema = z.strictObject({
  contains: z
    .string()
    .max(512)
    .optional()
    .describe("Only documents whose id, title or source contains this (any case)"),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe("Documents at most"),
  offset: z.coerce.number().int().min(0).default(0).describe("Documents skipped first (in id order)"),
});

const DocumentParamsSchema = z.strictObject({
  c: CollectionParamsSchema.shape.c,
  id: z.string().min(1).max(512).describe("Document id (URL-encode any '/')"),
});

const IndexedDocumentSchema = z.object({
  docId: z.string(),
  title: z.string(),
  source: z.string(),
  mediaType: z.string(),
  contentHash: z.string(),
  chunks: z.int(),
  meta: z.record(z.string(), z.unknown()),
  updatedAt: z.string(),
});

const ChunkSchema = z.object({
  rowid: z.int(),
  chunkId: z.string(),
  ordinal: z.int(),
  text: z.string(),
  page: z.int().nullable(),
});

/**
 * `GET /v1/collections` (this tenant's collections with their counts),
 * `GET /v1/collections/:c/documents` (a page of its indexed documents, by id, title or source) and
 * `GET /v1/collections/:c/documents/:id/chunks` (a document's chunks as they were indexed), and
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
      "/collections",
      {
        schema: {
          summary: "Collections",
          tags: ["collections"],
          response: responses(
            {
              200: [
                "This tenant's collections",
                z.object({
                  collections: z.array(z.object({ name: z.string(), documents: z.int(), chunks: z.int() })),
                }),
              ],
            },
            [],
          ),
        },
      },
      async (request) => {
        const scope = TenantScope.of(request.principal);
        const collections = [];
        for (const info of await sluice.store.listCollections()) {
          const name = scope.publicName(info.name);
          if (name !== undefined) collections.push({ name, documents: info.documents, chunks: info.chunks });
        }
        return { collections: collections.sort((a, b) => a.name.localeCompare(b.name)) };
      },
    );

    app.get(
      "/collections/:c/documents",
      {
        schema: {
          summary: "A collection's indexed documents",
          tags: ["collections"],
          params: toDocSchema(CollectionParamsSchema),
          querystring: toDocSchema(DocumentListQuerySchema),
          response: responses(
            { 200: ["A page of documents", z.object({ total: z.int(), documents: z.array(IndexedDocumentSchema) })] },
            [400, 404],
          ),
        },
      },
      async (request) => {
        const { c } = validate(CollectionParamsSchema, request.params, "path");
        const query = validate(DocumentListQuerySchema, request.query, "query");
        const scope = TenantScope.of(request.principal);
        return scope.guard(sluice.store, c, () =>
          sluice.store.listDocuments(scope.internal(c), {
            limit: query.limit,
            offset: query.offset,
            ...(query.contains ? { contains: query.contains } : {}),
          }),
        );
      },
    );

    app.get(
      "/collections/:c/documents/:id/chunks",
      {
        schema: {
          summary: "A document's chunks as they were indexed",
          tags: ["collections"],
          params: toDocSchema(DocumentParamsSchema),
          response: responses(
            { 200: ["Its chunks, in order", z.object({ docId: z.string(), chunks: z.array(ChunkSchema) })] },
            [400, 404],
          ),
        },
      },
      async (request) => {
        const { c, id } = validate(DocumentParamsSchema, request.params, "path");
        const scope = TenantScope.of(request.principal);
        const chunks = await scope.guard(sluice.store, c, () => sluice.store.documentChunks(scope.internal(c), id));
        if (chunks.length === 0)
          throw new SluiceError("DOCUMENT_NOT_FOUND", `document "${id}" is not indexed in collection "${c}"`, {
            details: { collection: c, docId: id },
          });
        return {
          docId: id,
          chunks: chunks.map((ch) => ({
            rowid: ch.rowid,
            chunkId: ch.chunkId,
            ordinal: ch.ordinal,
            text: ch.text,
            page: ch.page,
          })),
        };
      },
    );

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
