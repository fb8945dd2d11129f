/**
 * Who holds a collection's lock, and for how much longer unless renewed.
 *
 * @example
 * const holder: LockHolder | null = await lock.holder("docs");
 * // { owner: "web-1:4242:a1b2c3:d4e5f6", expiresInMs: 287_000 }
 */
export interface LockHolder {
  owner: string;
  expiresInMs: number;
}

/**
 * Options of {@link CollectionLock.acquire}.
 *
 * @example
 * await lock.acquire("docs", owner, 300_000, {
 *   isAlive: (holder) => holder.split(":")[0] !== hostname() || pidAlive(holder),
 * });
 */
export interface AcquireOptions {
  /**
   * Whether a holder's process is still alive. A lock whose holder is known dead (a worker
   * killed on this host) is taken over at once instead of waiting out its TTL. Without it, only
   * expiry frees a lock.
   */
  isAlive?: (owner: string) => boolean;
}

/**
 * The collection lock port: at most one owner at a time may ingest into a collection, so two
 * ingests cannot interleave their writes to it. A lock lapses `ttlMs` after it was taken or last
 * renewed, so a holder that dies frees it by itself; only the owner may renew or release it.
 * Owners are `host:pid:nonce` strings, like spool lease owners. Every change is one atomic
 * operation on the backend (one SQLite transaction, one Redis script). Adapters sit side by side
 * (`sqlite/`, `redis/`) and pass one conformance suite (`collection-lock.conformance.ts`).
 *
 * @example
 * await lock.open();
 * if (await lock.acquire("docs", owner, 300_000)) {
 *   try { await ingest(); await lock.renew("docs", owner, 300_000); } finally { await lock.release("docs", owner); }
 * }
 */
export interface CollectionLock {
  open(): Promise<void>;
  close(): Promise<void>;
  /**
   * Takes the lock if it is free, expired, or held by a dead owner (`isAlive`); re-acquiring a
   * lock one already holds extends it. Returns whether `owner` holds it now.
   */
  acquire(collection: string, owner: string, ttlMs: number, options?: AcquireOptions): Promise<boolean>;
  /** Extends a lock `owner` holds to `ttlMs` from now; false if it does not hold it (any more). */
  renew(collection: string, owner: string, ttlMs: number): Promise<boolean>;
  /** Frees a lock `owner` holds; false (and nothing changes) if it does not hold it. */
  release(collection: string, owner: string): Promise<boolean>;
  /** The current holder, or null when the lock is free. */
  holder(collection: string): Promise<LockHolder | null>;
}
