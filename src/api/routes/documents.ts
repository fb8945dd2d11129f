import { rm } from "node:fs/promises";
import multipart from "@fastify/multipart";
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from "fastify";
import { z } from "zod";
import { LANES } from "../../queue/work-queue.ts";
import type { Sluice } from "../../engine/sluice.ts";
import { responses, toDocSchema } from "../doc-schema.ts";
import { type SavedUpload, saveUploads } from "../save-uploads.ts";
import { CollectionNameSchema, CollectionParamsSchema } from "../schemas.ts";
import { TenantScope } from "../tenant-scope.ts";
import { validate } from "../validate.ts";

/** Most documents one upload request may carry (JSON items or multipart files). */
export const MAX_UPLOAD_DOCUMENTS = 10_000;

const UploadDocumentSchema = z.strictObject({
  id: z.string().min(1).max(512).describe("Document id, unique within the collection"),
  text: z.string().min(1),
  title: z.string().optional(),
  meta: z.record(z.string(), z.unknown()).optional(),
});

/** JSON body of `POST /v1/collections/:c/documents`. */
export const UploadBodySchema = z
  .strictObject({
    documents: z.array(UploadDocumentSchema).min(1).max(MAX_UPLOAD_DOCUMENTS),
    lane: z.enum(LANES).optional().describe("Spool lane: high, normal (default) or bulk"),
  })
  .superRefine((body, ctx) => {
    const first = new Map<string, number>();
    body.documents.forEach((doc, i) => {
      const at = first.get(doc.id);
      if (at === undefined) first.set(doc.id, i);
      else
        ctx.addIssue({
          code: "custom",
          path: ["documents", i, "id"],
          message: `duplicate id "${doc.id}" (also documents.${at}.id)`,
        });
    });
  });

const MultipartBodySchema = z.object({
  files: z
    .array(z.string().meta({ format: "binary" }))
    .describe(
      "One file part per document (.txt, .md, .html, .pdf, or a BEIR .jsonl); the sanitised file name is the document id",
    ),
});

const AcceptedSchema = z.object({
  jobId: z.string(),
  accepted: z.array(z.string()).describe("Ids of the documents recorded in the job"),
});
type Accepted = z.infer<typeof AcceptedSchema>;

const DocumentParamsSchema = z.strictObject({
  c: CollectionNameSchema,
  id: z.string().min(1).max(512).describe("Document id (URL-encode any '/')"),
});

/** Options of {@link documentRoutes}. */
export interface DocumentRoutesOptions {
  sluice: Sluice;
  /** Largest file accepted in a multipart upload, in bytes. */
  uploadLimit: number;
}

/**
 * `POST /v1/collections/:c/documents` (JSON documents or multipart files → 202 once the job and
 * its documents are in the ledger) and `DELETE /v1/collections/:c/documents/:id`. Uploaded files
 * are kept under `<dataDir>/uploads/<random>/` for the worker to read. `:c` is the caller's
 * tenant's collection (see tenant-scope.ts). Register under `/v1`.
 *
 * @example
 * await app.register(documentRoutes({ sluice, uploadLimit: 100 << 20 }), { prefix: "/v1" });
 */
export const documentRoutes = (options: DocumentRoutesOptions): FastifyPluginAsync =>
  async function documentRoutes(app) {
    const { sluice, uploadLimit } = options;
    await app.register(multipart, {
      limits: { fileSize: uploadLimit, files: MAX_UPLOAD_DOCUMENTS, fields: 16, parts: MAX_UPLOAD_DOCUMENTS + 16 },
    });

    async function submitJson(body: unknown, collection: string): Promise<Accepted> {
      const { documents, lane } = validate(UploadBodySchema, body, "body");
      // pause: false — over a spool limit the request is refused whole with 429, never half-taken.
      const job = await sluice.submitDocuments({ collection, documents, ...(lane ? { lane } : {}) }, { pause: false });
      return { jobId: job.id, accepted: job.accepted };
    }

    async function submitFiles(request: FastifyRequest, reply: FastifyReply, collection: string): Promise<Accepted> {
      let upload: SavedUpload;
      try {
        upload = await saveUploads(request.parts(), sluice.dataDir, uploadLimit);
      } catch (err) {
        // The multipart parser may have stopped reading mid-request (a parts limit, a broken
        // stream); close the connection after the error so no half-read body holds it open.
        void reply.header("connection", "close");
        throw err;
      }
      let jobId: string;
      try {
        jobId = (await sluice.submitPaths({ collection, paths: [upload.dir] }, { pause: false })).id;
      } catch (err) {
        await rm(upload.dir, { recursive: true, force: true });
        throw err;
      }
      // A .jsonl upload expands to one document per record, so ask the ledger what it recorded.
      const job = await sluice.getJob(jobId, { documents: true });
      return { jobId, accepted: (job.documents ?? []).map((d) => d.docId) };
    }

    app.post(
      "/collections/:c/documents",
      {
        schema: {
          summary: "Add or replace documents",
          description:
            "JSON documents, or multipart/form-data file parts. Answers 202 once the documents are durable in the job ledger; the worker indexes them.",
          tags: ["documents"],
          params: toDocSchema(CollectionParamsSchema),
          body: {
            content: {
              "application/json": { schema: toDocSchema(UploadBodySchema) },
              "multipart/form-data": { schema: toDocSchema(MultipartBodySchema) },
            },
          },
          response: responses({ 202: ["Job recorded", AcceptedSchema] }, [400, 413, 415]),
        },
      },
      async (request, reply) => {
        const { c } = validate(CollectionParamsSchema, request.params, "path");
        const collection = TenantScope.of(request.principal).internal(c);
        const { jobId, accepted } = request.isMultipart()
          ? await submitFiles(request, reply, collection)
          : await submitJson(request.body, collection);
        return reply
          .code(202)
          .header("location", `/v1/jobs/${encodeURIComponent(jobId)}`)
          .send({ jobId, accepted });
      },
    );

    app.delete(
      "/collections/:c/documents/:id",
      {
        schema: {
          summary: "Delete a document from every index",
          tags: ["documents"],
          params: toDocSchema(DocumentParamsSchema),
          response: responses({ 204: ["Deleted", null] }, [400, 404]),
        },
      },
      async (request, reply) => {
        const { c, id } = validate(DocumentParamsSchema, request.params, "path");
        const scope = TenantScope.of(request.principal);
        await scope.guard(sluice.store, c, () => sluice.deleteDocument(scope.internal(c), id));
        return reply.code(204).send();
      },
    );
  };
