import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { closeRedis, openRedis } from "../../db/redis/open-redis.ts";
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from "../../db/redis/redis.fixture.ts";
import { describeCollectionLockConformance } from "../collection-lock.conformance.ts";
import { RedisCollectionLock } from "./redis-collection-lock.ts";

const keyPrefix = testKeyPrefix();
after(async () => {
  await deleteKeys(keyPrefix);
});

describeCollectionLockConformance("redis", async () => new RedisCollectionLock({ url: TEST_REDIS_URL, keyPrefix }));

void describe("RedisCollectionLock keys", () => {
  void it("a lock is <keyPrefix>lock:collection:<name>, holding the owner with the TTL as its expiry", async () => {
    const lock = new RedisCollectionLock({ url: TEST_REDIS_URL, keyPrefix });
    const redis = openRedis(TEST_REDIS_URL);
    try {
      assert.equal(await lock.acquire("keys", "host:1:a", 30_000), true);
      assert.equal(await redis.get(`${keyPrefix}lock:collection:keys`), "host:1:a");
      const ttl = await redis.pttl(`${keyPrefix}lock:collection:keys`);
      assert.ok(ttl > 0 && ttl <= 30_000, `pttl ${ttl}`);
    } finally {
      await closeRedis(redis);
      await lock.close();
    }
  });
});
