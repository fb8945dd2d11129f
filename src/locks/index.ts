/**
 * Collection ingest locks: the port, its SQLite and Redis adapters, and the per-worker helper
 * that shares a lock among a collection's documents in flight.
 *
 * @example
 * import { createCollectionLock, HeldCollectionLocks } from "./locks/index.ts";
 */
export type { AcquireOptions, CollectionLock, LockHolder } from "./collection-lock.ts";
export { createCollectionLock } from "./create-collection-lock.ts";
export {
  type CollectionLockShare,
  DEFAULT_LOCK_TTL_MS,
  HeldCollectionLocks,
  type HeldCollectionLocksOptions,
} from "./held-collection-locks.ts";
export { RedisCollectionLock } from "./redis/redis-collection-lock.ts";
export { SqliteCollectionLock } from "./sqlite/sqlite-collection-lock.ts";
