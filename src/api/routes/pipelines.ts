import { readFile } from "node:fs/promises";
import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { Sluice } from "../../engine/sluice.ts";
import { responses, toDocSchema } from "../doc-schema.ts";
import { validate } from "../validate.ts";

/** The largest pipeline YAML `POST /v1/pipelines/validate` takes. */
export const MAX_PIPELINE_YAML = 256 * 1024;

const ValidateBodySchema = z.strictObject({
  yaml: z.string().min(1).max(MAX_PIPELINE_YAML).describe("A pipeline topology, as a pipelines/*.yaml file holds it"),
});

const PipelineViewSchema = z.object({
  name: z.string(),
  source: z.string(),
  description: z.string().nullable(),
  kind: z.enum(["ingest", "query"]).nullable(),
  valid: z.boolean(),
  error: z.object({ code: z.string(), message: z.string(), node: z.string().nullable() }).nullable(),
  nodes: z.array(
    z.object({
      name: z.string(),
      type: z.string(),
      policy: z.string().nullable(),
      checkpoint: z.boolean(),
      inputs: z.array(z.object({ port: z.string(), type: z.string(), optional: z.boolean(), fromRun: z.boolean() })),
    }),
  ),
  edges: z.array(
    z.object({
      from: z.string(),
      fromPort: z.string(),
      to: z.string(),
      toPort: z.string(),
      type: z.string().nullable(),
    }),
  ),
  policies: z.record(z.string(), z.record(z.string(), z.unknown())),
  inputs: z.array(z.string()),
});

/**
 * Pipeline routes, under `/v1`: `GET /pipelines` (every pipeline a job or query may name, as a
 * DAG: nodes, typed edges, policies, and whether it builds) and `POST /pipelines/validate` (a
 * YAML checked against the stage registry, answered 200 with `valid` and the error against its
 * node, so a page can show it; nothing is saved or run).
 *
 * @example
 * await app.register(pipelineRoutes({ sluice }), { prefix: "/v1" });
 */
export const pipelineRoutes = (options: { sluice: Sluice }): FastifyPluginAsync =>
  async function pipelineRoutes(app) {
    const { sluice } = options;

    app.get(
      "/pipelines",
      {
        schema: {
          summary: "Pipelines as DAGs",
          tags: ["pipelines"],
          response: responses({ 200: ["Pipelines", z.object({ pipelines: z.array(PipelineViewSchema) })] }, []),
        },
      },
      async () => {
        const pipelines = [];
        for (const [name, file] of Object.entries(sluice.pipelineFiles())) {
          const yaml = await readFile(file, "utf8").catch(() => null);
          if (yaml === null) {
            pipelines.push({
              name,
              source: file,
              description: null,
              kind: null,
              valid: false,
              error: { code: "PATH_NOT_FOUND", message: `pipeline file not found: ${file}`, node: null },
              nodes: [],
              edges: [],
              policies: {},
              inputs: [],
            });
            continue;
          }
          pipelines.push({ ...(await sluice.describePipeline(yaml, file, name)), name });
        }
        return { pipelines };
      },
    );

    app.post(
      "/pipelines/validate",
      {
        schema: {
          summary: "Check a pipeline YAML against the stage registry",
          tags: ["pipelines"],
          body: toDocSchema(ValidateBodySchema),
          response: responses({ 200: ["The pipeline as a DAG, valid or not", PipelineViewSchema] }, [400]),
        },
      },
      async (request) => {
        const { yaml } = validate(ValidateBodySchema, request.body, "body");
        return sluice.describePipeline(yaml, "<console>", "pipeline");
      },
    );
  };
