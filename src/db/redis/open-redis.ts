import { createRequire } from "node:module";
import type { Redis } from "ioredis";
import type { SluiceConfig } from "../../config/schema.ts";

/**
 * Where the shared Redis is and which keys are Sluice's.
 *
 * @example
 * const settings: RedisSettings = { url: "redis://127.0.0.1:6379", keyPrefix: "sluice:" };
 */
export interface RedisSettings {
  /** `redis://[user:password@]host:port[/db]` (or `rediss://` for TLS). */
  url: string;
  /** Prepended to every key Sluice writes, so one Redis can serve several deployments. */
  keyPrefix: string;
}

/**
 * The Redis that rate limits and collection locks share, or `null` when none is configured
 * (everything then stays in this process and its data directory). The URL is `redis.url`, which
 * env SLUICE_REDIS_URL overrides when the config is loaded, so a password never has to be written
 * in `sluice.yaml`.
 *
 * @example
 * const redis = redisSettings(sluice.config); // { url: "redis://127.0.0.1:6379", keyPrefix: "sluice:" } or null
 */
export function redisSettings(config: SluiceConfig): RedisSettings | null {
  const url = config.redis.url;
  return url ? { url, keyPrefix: config.redis.keyPrefix } : null;
}

/**
 * A Redis client that connects on its first command (the constructor does no I/O) and fails a
 * command after a couple of reconnect attempts instead of queueing it for ever, so a Redis outage
 * surfaces as an error the caller can act on.
 *
 * @example
 * const redis = openRedis("redis://127.0.0.1:6379");
 * await redis.ping();
 * await closeRedis(redis);
 */
export function openRedis(url: string): Redis {
  // Required on first use, not imported: a process that never talks to Redis (the embedded
  // default) never loads the client.
  const { Redis: RedisClient } = createRequire(import.meta.url)("ioredis") as typeof import("ioredis");
  const redis = new RedisClient(url, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 5_000 });
  // Connection errors also fail the commands that needed the connection, and the callers report
  // those; without a listener ioredis would print every reconnect failure to stderr as well.
  redis.on("error", () => undefined);
  return redis;
}

/**
 * Closes a client from {@link openRedis}: QUIT when it is connected, a plain disconnect when it
 * never connected (QUIT would connect first) or is already gone.
 *
 * @example
 * await closeRedis(redis);
 */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === "ready") {
    await redis.quit().catch(() => redis.disconnect());
    return;
  }
  redis.disconnect();
}
