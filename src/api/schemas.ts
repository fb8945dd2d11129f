import { z } from "zod";
import { DOC_STATES, JOB_STATES } from "../contracts/job.ts";

/**
 * Zod schemas shared by several route groups. Each request schema is the one place a field's
 * rules live: handlers validate with it (`validate()`), and `/openapi.json` documents it
 * (`toDocSchema()`), so the two cannot disagree.
 *
 * @example
 * const name = validate(CollectionNameSchema, "docs", "path parameter c");
 */
export const CollectionNameSchema = z
  .string()
  // Same rule as the index store's assertCollectionName; checked here so a bad name is a 400
  // that names the field before anything touches the store.
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/,
    'must be 1-64 letters, digits, ".", "_" or "-", starting with a letter or digit',
  )
  .describe("Collection name");

/** Path parameters of `/v1/collections/:c…`. */
export const CollectionParamsSchema = z.strictObject({ c: CollectionNameSchema });

/** Path parameters of `/v1/jobs/:id…`. */
export const JobParamsSchema = z.strictObject({ id: z.string().min(1).max(128).describe("Job id") });
/** Documents a job's answer lists unless the request asks for another page. */
export const JOB_DOCUMENTS_PAGE = 1_000;

/** Which of a job's documents `GET /v1/jobs/{id}` lists: a page, in admission order (the job's counts cover all). */
export const JobDocumentsQuerySchema = z.strictObject({
  limit: z.coerce
    .number()
    .int()
    .min(0)
    .max(10_000)
    .default(JOB_DOCUMENTS_PAGE)
    .describe("Documents at most (0: counts only)"),
  offset: z.coerce.number().int().min(0).default(0).describe("Documents skipped first"),
  stages: z
    .enum(["true", "false"])
    .default("false")
    .transform((v) => v === "true")
    .describe("Each listed document's stage records (state, attempts, start and end, error)"),
});

/** Every error the API answers with has exactly this body. */
export const ErrorBodySchema = z
  .strictObject({
    statusCode: z.int(),
    code: z.string().describe("Stable UPPER_SNAKE error code"),
    error: z.string().describe("HTTP reason phrase"),
    message: z.string(),
  })
  .describe("Error");
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

const JobDocumentSchema = z.object({
  docId: z.string(),
  source: z.string(),
  state: z.enum(DOC_STATES),
  currentStage: z.string().nullable(),
  attempts: z.int(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  outcome: z.string().nullable(),
  waiting: z
    .object({ stage: z.string().nullable(), reason: z.string() })
    .optional()
    .describe("While WAITING: the stage that suspended the document and why"),
});

/** A job as the ledger reports it (documentation only: responses are the ledger's own objects). */
export const JobSchema = z
  .object({
    id: z.string(),
    collection: z.string(),
    pipeline: z.string(),
    pipelineVersion: z
      .string()
      .optional()
      .describe("The pipeline version (name@hash) the job was created with: its documents run that snapshot"),
    state: z.enum(JOB_STATES),
    currentStage: z.string().nullable(),
    total: z.int(),
    done: z.int(),
    failed: z.int(),
    cancelled: z.int(),
    waiting: z.int(),
    error: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
    documents: z.array(JobDocumentSchema).optional(),
  })
  .describe("Job");
