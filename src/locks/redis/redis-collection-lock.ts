import type { Redis } from "ioredis";
import { closeRedis, openRedis, type RedisSettings } from "../../db/redis/open-redis.ts";
import { RedisScript } from "../../db/redis/redis-script.ts";
import type { AcquireOptions, CollectionLock, LockHolder } from "../collection-lock.ts";

const ACQUIRE = RedisScript.load(new URL("./acquire-1.lua", import.meta.url));
const TAKE_OVER = RedisScript.load(new URL("./take-over-1.lua", import.meta.url));
const RENEW = RedisScript.load(new URL("./renew-1.lua", import.meta.url));
const RELEASE = RedisScript.load(new URL("./release-1.lua", import.meta.url));

/**
 * Collection locks in Redis, shared by every process (on any host) that uses the same Redis and
 * key prefix. A lock is one key, `<keyPrefix>lock:collection:<name>`, whose value is the owner
 * and whose PX expiry is the TTL (the server's clock). Taking it is SET NX PX; renewing and
 * releasing are compare-and-pexpire / compare-and-delete scripts, so only the owner can; taking
 * over from a dead owner is a compare-and-set script. The client connects on first use.
 *
 * @example
 * const lock = new RedisCollectionLock({ url: "redis://127.0.0.1:6379", keyPrefix: "sluice:" });
 * await lock.open();
 * await lock.acquire("docs", owner, 300_000);
 */
export class RedisCollectionLock implements CollectionLock {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(settings: RedisSettings) {
    this.#redis = openRedis(settings.url);
    this.#prefix = `${settings.keyPrefix}lock:collection:`;
  }

  async open(): Promise<void> {
    // Connects on first use: a process that never ingests never dials Redis.
  }

  async close(): Promise<void> {
    await closeRedis(this.#redis);
  }

  #key(collection: string): string {
    return this.#prefix + collection;
  }

  async acquire(collection: string, owner: string, ttlMs: number, options: AcquireOptions = {}): Promise<boolean> {
    const key = this.#key(collection);
    const reply = await ACQUIRE.run(this.#redis, [key], [owner, ttlMs]);
    if (reply === 1) return true;
    // The script cannot ask whether a process is alive; the client judges, then a CAS takes over.
    if (typeof reply === "string" && options.isAlive && !options.isAlive(reply))
      return (await TAKE_OVER.run(this.#redis, [key], [reply, owner, ttlMs])) === 1;
    return false;
  }

  async renew(collection: string, owner: string, ttlMs: number): Promise<boolean> {
    return (await RENEW.run(this.#redis, [this.#key(collection)], [owner, ttlMs])) === 1;
  }

  async release(collection: string, owner: string): Promise<boolean> {
    return (await RELEASE.run(this.#redis, [this.#key(collection)], [owner])) === 1;
  }

  async holder(collection: string): Promise<LockHolder | null> {
    const key = this.#key(collection);
    // One MULTI, so the owner and its TTL are read at the same instant.
    const replies = await this.#redis.multi().get(key).pttl(key).exec();
    const owner = replies?.[0]?.[1];
    const ttl = replies?.[1]?.[1];
    return typeof owner === "string" && typeof ttl === "number" && ttl > 0 ? { owner, expiresInMs: ttl } : null;
  }
}
