import { randomUUID } from "node:crypto";
import { closeRedis, openRedis } from "./open-redis.ts";

/**
 * The Redis the integration tests use (a real server; env SLUICE_TEST_REDIS_URL overrides).
 *
 * @example
 * const store = new RedisRateLimitStore({ url: TEST_REDIS_URL, keyPrefix: testKeyPrefix() });
 */
export const TEST_REDIS_URL = process.env["SLUICE_TEST_REDIS_URL"] ?? "redis://127.0.0.1:6379";

/**
 * A key prefix no other test run shares: `sluice-test-<uuid>:`.
 *
 * @example
 * const keyPrefix = testKeyPrefix();
 */
export function testKeyPrefix(): string {
  return `sluice-test-${randomUUID()}:`;
}

/**
 * Deletes every key under `prefix` (SCAN, never KEYS, so a shared server is not blocked).
 *
 * @example
 * after(() => deleteKeys(keyPrefix));
 */
export async function deleteKeys(prefix: string, url = TEST_REDIS_URL): Promise<number> {
  const redis = openRedis(url);
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}*`, "COUNT", 500);
      cursor = next;
      if (keys.length > 0) deleted += await redis.del(...keys);
    } while (cursor !== "0");
  } finally {
    await closeRedis(redis);
  }
  return deleted;
}
