import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import { closeRedis, openRedis, type RedisSettings } from "../../../db/redis/open-redis.ts";
import { RedisScript } from "../../../db/redis/redis-script.ts";
import type { RateLimitDecision, RateLimitStore } from "../rate-limit-store.ts";

const HIT = RedisScript.load(new URL("./hit-1.lua", import.meta.url));

/**
 * Rate limits in Redis, shared by every process that uses the same Redis and key prefix. Each
 * `hit` is one script (`hit-1.lua`): prune, count, admit, set the TTL, all atomic on the server
 * and timed by the server's clock. Keys: `<keyPrefix>ratelimit:<key>`, each a sorted set that
 * expires one window after its last counted request. The client connects on the first hit.
 *
 * @example
 * const store = new RedisRateLimitStore({ url: "redis://127.0.0.1:6379", keyPrefix: "sluice:" });
 * const { allowed, retryAfterMs } = await store.hit("answer:ip:127.0.0.1", 10, 60_000);
 * await store.close();
 */
export class RedisRateLimitStore implements RateLimitStore {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(settings: RedisSettings) {
    this.#redis = openRedis(settings.url);
    this.#prefix = `${settings.keyPrefix}ratelimit:`;
  }

  async hit(key: string, limit: number, windowMs: number): Promise<RateLimitDecision> {
    const reply = await HIT.run(this.#redis, [this.#prefix + key], [limit, windowMs, randomUUID()]);
    if (!Array.isArray(reply) || reply.length !== 3 || !reply.every((n) => typeof n === "number")) {
      throw new Error(`${HIT.name}: unexpected reply ${JSON.stringify(reply)}`);
    }
    const [allowed, remaining, retryAfterMs] = reply as [number, number, number];
    return { allowed: allowed === 1, remaining, retryAfterMs };
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }
}
