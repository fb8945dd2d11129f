import type { FastifyRequest } from "fastify";
import type { RateLimitRule, RateLimitsConfig } from "../../config/schema.ts";
import { QueryBodySchema } from "../routes/query.ts";

/**
 * A limit with the name of the budget it draws on (`answer`, `query`, `ingest`, or `"<METHOD> <route>"`).
 *
 * @example
 * const limit: NamedLimit = { name: "answer", max: 10, windowMs: 60_000 };
 */
export interface NamedLimit extends RateLimitRule {
  name: string;
}

/**
 * Which limit a request counts against; `undefined`: none.
 *
 * @example
 * const onlyQueries: LimitFor = (request) =>
 *   (request.url === "/v1/query" ? { name: "answer", max: 10, windowMs: 60_000 } : undefined);
 */
export type LimitFor = (request: FastifyRequest) => NamedLimit | undefined;

const QUERY_ROUTE = "POST /v1/query";
/** Routes that start an ingest: uploads, and jobs over server paths. */
const INGEST_ROUTES = new Set(["POST /v1/collections/:c/documents", "POST /v1/jobs"]);

/**
 * Maps `api.rateLimits` to the limit each request counts against. `POST /v1/query` counts
 * against `answer` unless its body says `"answer": false` (then `query`); a body the route will
 * refuse with 400 counts against nothing, since it costs nothing. Uploads and `POST /v1/jobs`
 * count against `ingest`. An entry in `routes` (`"<METHOD> <route pattern>"`) wins for its route; every other
 * route is unlimited. A limit set to `false` is off. Routes are matched by Fastify's route
 * pattern, so `/v1/jobs/a` and `/v1/jobs/b` share the budget of `GET /v1/jobs/:id`.
 *
 * @example
 * const limitFor = limitForRequest(sluice.config.api.rateLimits);
 * limitFor(request); // { name: "answer", max: 10, windowMs: 60000 }
 */
export function limitForRequest(config: RateLimitsConfig): LimitFor {
  const named = (name: string, rule: RateLimitRule | false | undefined): NamedLimit | undefined =>
    rule ? { name, ...rule } : undefined;
  return (request) => {
    const url = request.routeOptions.url;
    if (url === undefined) return undefined;
    const route = `${request.method} ${url}`;
    if (Object.hasOwn(config.routes, route)) return named(route, config.routes[route]);
    if (route === QUERY_ROUTE) {
      const body = QueryBodySchema.safeParse(request.body);
      if (!body.success) return undefined;
      return body.data.answer === false ? named("query", config.query) : named("answer", config.answer);
    }
    if (INGEST_ROUTES.has(route)) return named("ingest", config.ingest);
    return undefined;
  };
}

/**
 * Whether any limit is on (if none is, no hook needs to run).
 *
 * @example
 * if (anyLimit(config.api.rateLimits)) app.addHook("preHandler", rateLimit({ store, limitFor }));
 */
export function anyLimit(config: RateLimitsConfig): boolean {
  return Boolean(config.answer || config.query || config.ingest || Object.values(config.routes).some(Boolean));
}
