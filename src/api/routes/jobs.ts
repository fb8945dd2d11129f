import { readFile } from "node:fs/promises";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import { LANES } from "../../queue/work-queue.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { type Job, JOB_STATES } from "../../contracts/job.ts";
import type { Sluice } from "../../engine/sluice.ts";
import { stageSummary } from "../../engine/stage-summary.ts";
import { responses, toDocSchema } from "../doc-schema.ts";
import { CollectionNameSchema, JobDocumentsQuerySchema, JobParamsSchema, JobSchema } from "../schemas.ts";
import { TenantScope } from "../tenant-scope.ts";
import { validate } from "../validate.ts";

/** Body of `POST /v1/jobs`: exactly one of `paths` or `source`. */
export const CreateJobBodySchema = z
  .strictObject({
    collection: CollectionNameSchema,
    paths: z
      .array(z.string().min(1))
      .min(1)
      .max(1000)
      .optional()
      .describe(
        "Files, directories, globs or BEIR .jsonl files, as seen by the server (relative to its working directory)",
      ),
    source: z
      .record(z.string(), z.unknown())
      .optional()
      .describe(
        'A scholarly source run, e.g. {"type":"openalex","query":"stem cells","limit":500}: type is clinicaltrials, openalex, pmc or unpaywall; then query, ids, since, limit, pageSize, params',
      ),
    pipeline: z.string().min(1).max(512).optional().describe('Pipeline name or file (default "auto")'),
    lane: z.enum(LANES).optional().describe("Spool lane: high, normal (default) or bulk"),
  })
  .refine((body) => (body.paths === undefined) !== (body.source === undefined), {
    message: 'give exactly one of "paths" or "source"',
  });

const StageSummaryListSchema = z.object({
  jobId: z.string(),
  stages: z.array(
    z.object({
      stage: z.string(),
      documents: z.int(),
      completed: z.int(),
      failed: z.int(),
      skipped: z.int(),
      waiting: z.int(),
      running: z.int(),
      retries: z.int(),
      p50Ms: z.number().nullable(),
      p95Ms: z.number().nullable(),
      maxMs: z.number().nullable(),
    }),
  ),
});

/** How many of the ledger's most recent jobs `GET /v1/jobs` looks through. */
const JOB_LIST_SCAN = 10_000;

const JobListQuerySchema = z.strictObject({
  state: z
    .string()
    .regex(
      new RegExp(`^(${JOB_STATES.join("|")})(,(${JOB_STATES.join("|")}))*$`),
      `states among ${JOB_STATES.join(", ")}`,
    )
    .optional()
    .describe("Only jobs in these states, comma-separated (PROCESSING,PENDING)"),
  collection: CollectionNameSchema.optional().describe("Only this collection's jobs"),
  limit: z.coerce.number().int().min(1).max(1000).default(100).describe("Jobs at most"),
});

/**
 * Job routes, under `/v1`: `GET /jobs` (the newest jobs, filtered by state and collection),
 * `POST /jobs` (paths on the server, or a scholarly source run → 202 `{"jobId"}` once every
 * document is admitted), `GET /jobs/:id` (with documents), and
 * `POST /jobs/:id/cancel` / `POST /jobs/:id/resume` (the job after the change; 409
 * `JOB_STATE_CONFLICT` when the state does not allow it). A job belongs to its collection's
 * tenant: another tenant's job is 404 `JOB_NOT_FOUND`, and jobs show the public collection name.
 *
 * @example
 * await app.register(jobRoutes({ sluice }), { prefix: "/v1" });
 */
export const jobRoutes = (options: { sluice: Sluice }): FastifyPluginAsync =>
  async function jobRoutes(app) {
    const { sluice } = options;
    const jobResponse = responses({ 200: ["The job, with its documents", JobSchema] }, [400, 404, 409]);
    const params = toDocSchema(JobParamsSchema);

    app.post(
      "/jobs",
      {
        schema: {
          summary: "Start an ingest job",
          tags: ["jobs"],
          body: toDocSchema(CreateJobBodySchema),
          response: responses({ 202: ["Job recorded", z.object({ jobId: z.string() })] }, [400, 413]),
        },
      },
      async (request, reply) => {
        const body = validate(CreateJobBodySchema, request.body, "body");
        if (body.source !== undefined) {
          // A pipeline file named by a client could be anywhere: sources run shipped pipelines only.
          if (body.pipeline && /[\\/]|\.ya?ml$/i.test(body.pipeline)) {
            throw new SluiceError("VALIDATION_FAILED", "a source run takes a shipped pipeline name, not a file");
          }
          const job = await sluice.submitSource(
            {
              collection: TenantScope.of(request.principal).internal(body.collection),
              source: body.source,
              ...(body.pipeline ? { pipeline: body.pipeline } : {}),
              ...(body.lane ? { lane: body.lane } : {}),
            },
            { pause: false },
          );
          return reply
            .code(202)
            .header("location", `/v1/jobs/${encodeURIComponent(job.id)}`)
            .send({ jobId: job.id });
        }
        const job = await sluice.submitPaths(
          {
            collection: TenantScope.of(request.principal).internal(body.collection),
            paths: body.paths ?? [],
            ...(body.pipeline ? { pipeline: body.pipeline } : {}),
            ...(body.lane ? { lane: body.lane } : {}),
          },
          // Paths come from the client: they must stay under the allowed roots.
          { pause: false, restricted: true },
        );
        return reply
          .code(202)
          .header("location", `/v1/jobs/${encodeURIComponent(job.id)}`)
          .send({ jobId: job.id });
      },
    );

    app.get(
      "/jobs",
      {
        schema: {
          summary: "Jobs, newest first, without their documents",
          tags: ["jobs"],
          querystring: toDocSchema(JobListQuerySchema),
          response: responses({ 200: ["Jobs", z.object({ jobs: z.array(JobSchema) })] }, [400]),
        },
      },
      async (request) => {
        const query = validate(JobListQuerySchema, request.query, "query");
        const scope = TenantScope.of(request.principal);
        const states = query.state === undefined ? undefined : new Set(query.state.split(","));
        const jobs: Job[] = [];
        // The ledger's most recent jobs (its order is oldest first), this tenant's, as it names them.
        for (const job of (await sluice.listJobs({ limit: JOB_LIST_SCAN })).reverse()) {
          const mine = scope.publicJob(job);
          if (!mine) continue;
          if (states && !states.has(mine.state)) continue;
          if (query.collection !== undefined && mine.collection !== query.collection) continue;
          jobs.push(mine);
          if (jobs.length === query.limit) break;
        }
        return { jobs };
      },
    );

    app.get(
      "/jobs/:id",
      {
        schema: {
          summary: "A job and a page of its documents",
          tags: ["jobs"],
          params,
          querystring: toDocSchema(JobDocumentsQuerySchema),
          response: jobResponse,
        },
      },
      async (request) => {
        const { id } = validate(JobParamsSchema, request.params, "path");
        const page = validate(JobDocumentsQuerySchema, request.query, "query");
        return TenantScope.of(request.principal).job(sluice, id, page);
      },
    );

    app.get(
      "/jobs/:id/stages",
      {
        schema: {
          summary: "Per-stage counts and durations of a job",
          tags: ["jobs"],
          params,
          response: responses({ 200: ["Its stages, in the order they ran", StageSummaryListSchema] }, [400, 404]),
        },
      },
      async (request) => {
        const { id } = validate(JobParamsSchema, request.params, "path");
        await TenantScope.of(request.principal).assertOwnsJob(sluice, id);
        return { jobId: id, stages: await stageSummary(sluice.ledger, id) };
      },
    );

    app.get(
      "/jobs/:id/pipeline",
      {
        schema: {
          summary: "The pipeline a job runs (its snapshot) as a DAG, with its YAML",
          tags: ["jobs"],
          params,
          response: responses({ 200: ["The job's pipeline", z.record(z.string(), z.unknown())] }, [400, 404]),
        },
      },
      async (request) => {
        const { id } = validate(JobParamsSchema, request.params, "path");
        const scope = TenantScope.of(request.principal);
        const job = await scope.job(sluice, id, { limit: 0 });
        const snapshot = job.pipelineVersion ? await sluice.ledger.pipelineSnapshot(job.pipelineVersion) : null;
        const file = snapshot === null ? sluice.pipelineFiles()[job.pipeline] : undefined;
        const yaml = snapshot ?? (file ? await readFile(file, "utf8") : null);
        if (yaml === null)
          throw new SluiceError("NOT_FOUND", `job "${id}" runs pipeline "${job.pipeline}", which is no longer there`, {
            details: { jobId: id, pipeline: job.pipeline },
          });
        const source = job.pipelineVersion ?? job.pipeline;
        return { ...(await sluice.describePipeline(yaml, source, job.pipeline)), version: source, yaml };
      },
    );

    app.post(
      "/jobs/:id/cancel",
      { schema: { summary: "Cancel a pending or running job", tags: ["jobs"], params, response: jobResponse } },
      async (request) => {
        const { id } = validate(JobParamsSchema, request.params, "path");
        const scope = TenantScope.of(request.principal);
        await scope.assertOwnsJob(sluice, id);
        await sluice.cancelJob(id);
        return scope.job(sluice, id);
      },
    );

    app.post(
      "/jobs/:id/resume",
      { schema: { summary: "Re-run what did not complete", tags: ["jobs"], params, response: jobResponse } },
      async (request) => {
        const { id } = validate(JobParamsSchema, request.params, "path");
        const scope = TenantScope.of(request.principal);
        await scope.assertOwnsJob(sluice, id);
        await sluice.resumeJob(id);
        return scope.job(sluice, id);
      },
    );
  };
