import type { FastifyInstance } from "fastify";
import type { SluiceConfig } from "../../config/schema.ts";
import { redisSettings } from "../../db/redis/open-redis.ts";
import { anyLimit, limitForRequest } from "./limit-for-request.ts";
import { MemoryRateLimitStore } from "./memory/memory-rate-limit-store.ts";
import { rateLimit } from "./rate-limit-hook.ts";
import type { RateLimitStore } from "./rate-limit-store.ts";
import { RedisRateLimitStore } from "./redis/redis-rate-limit-store.ts";

export { clientKey, principalOf, type PrincipalIdentity } from "./client-key.ts";
export { anyLimit, limitForRequest, type LimitFor, type NamedLimit } from "./limit-for-request.ts";
export { MemoryRateLimitStore } from "./memory/memory-rate-limit-store.ts";
export { rateLimit, type RateLimitOptions } from "./rate-limit-hook.ts";
export type { RateLimitDecision, RateLimitStore } from "./rate-limit-store.ts";
export { RedisRateLimitStore } from "./redis/redis-rate-limit-store.ts";

/**
 * The store the config asks for: Redis (shared by every process on it) when `redis.url` or
 * SLUICE_REDIS_URL is set, else this process's memory.
 *
 * @example
 * const store = createRateLimitStore(sluice.config);
 */
export function createRateLimitStore(config: SluiceConfig): RateLimitStore {
  const redis = redisSettings(config);
  return redis ? new RedisRateLimitStore(redis) : new MemoryRateLimitStore();
}

/**
 * Applies `api.rateLimits` to every route registered after it (call it before the routes). A
 * store it creates itself is closed with the app; one passed in belongs to the caller.
 *
 * @example
 * registerErrorHandling(app);
 * registerRateLimits(app, sluice.config);
 */
export function registerRateLimits(app: FastifyInstance, config: SluiceConfig, store?: RateLimitStore): void {
  const limits = config.api.rateLimits;
  if (!anyLimit(limits)) return;
  const owned = store ?? createRateLimitStore(config);
  app.addHook("preHandler", rateLimit({ store: owned, limitFor: limitForRequest(limits) }));
  if (!store) app.addHook("onClose", async () => owned.close());
}
