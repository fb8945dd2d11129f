import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { Sluice } from "../../engine/sluice.ts";
import { responses } from "../doc-schema.ts";

const ModelStatusSchema = z.object({
  mode: z.enum(["in-process", "remote"]),
  address: z.string().optional(),
  serverVersion: z.string().optional(),
  error: z.string().optional().describe("why the model server could not be asked"),
  services: z.array(
    z.object({
      service: z.string(),
      model: z.string(),
      health: z.enum(["SERVING", "NOT_SERVING", "IN_PROCESS"]),
      residency: z.string(),
      device: z.string(),
      dimensions: z.int().optional(),
      keepAliveMs: z.number().optional(),
      idleMs: z.number().optional(),
    }),
  ),
  queue: z.object({ inFlight: z.int(), waiting: z.int(), window: z.int() }).optional(),
  gpus: z.array(z.object({ index: z.int(), name: z.string(), memoryTotalMib: z.number(), memoryUsedMib: z.number() })),
});

/**
 * `GET /v1/models`: where inference runs (in this process, or a model server), each service's
 * model, health and residency, the GPUs a model server sees, and the call queue to it. Never an
 * error for a model server that does not answer: its services show NOT_SERVING with the reason.
 *
 * @example
 * await app.register(modelRoutes({ sluice }), { prefix: "/v1" });
 */
export const modelRoutes = (options: { sluice: Sluice }): FastifyPluginAsync =>
  async function modelRoutes(app) {
    app.get(
      "/models",
      {
        schema: {
          summary: "Model plane status",
          tags: ["models"],
          response: responses({ 200: ["Services, health, residency, queue", ModelStatusSchema] }, []),
        },
      },
      async () => options.sluice.models.status(),
    );
  };
