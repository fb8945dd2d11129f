import type { FastifyPluginAsync } from "fastify";

/**
 * `GET /openapi.json`: the OpenAPI 3 document @fastify/swagger builds from the route schemas
 * (which `toDocSchema` derives from the zod request schemas). Needs @fastify/swagger registered
 * on the root instance first.
 *
 * @example
 * await app.register(openapiRoutes());
 */
export const openapiRoutes = (): FastifyPluginAsync =>
  async function openapiRoutes(app) {
    app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
  };
