import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { closeRedis, openRedis } from "../../../db/redis/open-redis.ts";
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from "../../../db/redis/redis.fixture.ts";
import { describeRateLimitStoreConformance } from "../rate-limit-store.conformance.ts";
import { RedisRateLimitStore } from "./redis-rate-limit-store.ts";

const keyPrefix = testKeyPrefix();
after(async () => {
  await deleteKeys(keyPrefix);
});

describeRateLimitStoreConformance("redis", async () => new RedisRateLimitStore({ url: TEST_REDIS_URL, keyPrefix }));

void describe("RedisRateLimitStore keys", () => {
  void it("live under <keyPrefix>ratelimit: and expire one window after the last counted request", async () => {
    const store = new RedisRateLimitStore({ url: TEST_REDIS_URL, keyPrefix });
    const redis = openRedis(TEST_REDIS_URL);
    try {
      await store.hit("ttl-check", 5, 30_000);
      const ttl = await redis.pttl(`${keyPrefix}ratelimit:ttl-check`);
      assert.ok(ttl > 0 && ttl <= 30_000, `pttl ${ttl}`);
    } finally {
      await closeRedis(redis);
      await store.close();
    }
  });
});
