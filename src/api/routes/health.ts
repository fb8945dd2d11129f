import type { FastifyPluginAsync } from "fastify";
import { z } from "zod";
import type { Sluice } from "../../engine/sluice.ts";
import { responses } from "../doc-schema.ts";

/** How long one readiness check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 2_000;

const StatusSchema = z.object({ status: z.string() });
const ReadySchema = z.object({
  status: z.enum(["ready", "unavailable"]),
  checks: z.record(z.string(), z.string()).describe('"ok", or why the check failed'),
});

async function check(probe: () => Promise<unknown>): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolveTimeout) => {
    timer = setTimeout(() => resolveTimeout(`no answer in ${CHECK_TIMEOUT_MS} ms`), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([probe().then(() => "ok"), timeout]);
  } catch (err) {
    return err instanceof Error ? `failed: ${err.message}` : "failed";
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Probes, at the root (not under `/v1`): `GET /health` and `GET /health/live` (the process
 * answers), `GET /health/ready` (200 when the ledger and the index answer a trivial query,
 * else 503; both with `{"status","checks"}` so an operator sees which store failed).
 *
 * @example
 * await app.register(healthRoutes({ sluice }));
 */
export const healthRoutes = (options: { sluice: Sluice }): FastifyPluginAsync =>
  async function healthRoutes(app) {
    const { sluice } = options;
    const up = {
      schema: {
        summary: "The process is up",
        tags: ["health"],
        response: responses({ 200: ["Up", StatusSchema] }, []),
      },
    };
    app.get("/health", up, async () => ({ status: "ok" }));
    app.get("/health/live", up, async () => ({ status: "ok" }));
    app.get(
      "/health/ready",
      {
        schema: {
          summary: "The ledger and the index answer",
          tags: ["health"],
          response: responses({ 200: ["Ready", ReadySchema], 503: ["Not ready", ReadySchema] }, []),
        },
      },
      async (_request, reply) => {
        const checks = {
          ledger: await check(() => sluice.listJobs({ limit: 1 })),
          // Constant-time checks: a probe must not count a big index's rows every few seconds.
          index: await check(() => sluice.store.ping()),
        };
        const ready = Object.values(checks).every((c) => c === "ok");
        return reply.code(ready ? 200 : 503).send({ status: ready ? "ready" : "unavailable", checks });
      },
    );
  };
