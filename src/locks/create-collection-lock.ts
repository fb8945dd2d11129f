import { join } from "node:path";
import type { SluiceConfig } from "../config/schema.ts";
import { redisSettings } from "../db/redis/open-redis.ts";
import type { CollectionLock } from "./collection-lock.ts";
import { RedisCollectionLock } from "./redis/redis-collection-lock.ts";
import { SqliteCollectionLock } from "./sqlite/sqlite-collection-lock.ts";

/**
 * The lock the config asks for: Redis when `redis.url` (env SLUICE_REDIS_URL) is set, so
 * processes on other hosts are covered too; else a table in the data directory's `ledger.db`,
 * shared by every process that opens that directory. Not opened yet.
 *
 * @example
 * const lock = createCollectionLock(config, dataDir);
 * await lock.open();
 */
export function createCollectionLock(config: SluiceConfig, dataDir: string): CollectionLock {
  const redis = redisSettings(config);
  return redis ? new RedisCollectionLock(redis) : new SqliteCollectionLock(join(dataDir, "ledger.db"));
}
