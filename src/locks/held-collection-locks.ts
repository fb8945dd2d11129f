import { SluiceError } from "../contracts/errors.ts";
import type { CollectionLock } from "./collection-lock.ts";

/**
 * Default TTL of a collection lock: 5 minutes, renewed while held.
 *
 * @example
 * new HeldCollectionLocks(lock, owner, { ttlMs: DEFAULT_LOCK_TTL_MS });
 */
export const DEFAULT_LOCK_TTL_MS = 300_000;

/**
 * Options of {@link HeldCollectionLocks}.
 *
 * @example
 * const options: HeldCollectionLocksOptions = { ttlMs: 300_000, isAlive: ownerAlive };
 */
export interface HeldCollectionLocksOptions {
  /** TTL of each lock; renewed once a third of it has passed. Default 300 s. */
  ttlMs?: number;
  /** Whether another holder's process is alive (a dead holder's lock is taken over). */
  isAlive?: (owner: string) => boolean;
  /**
   * How long a lock whose last share was given back stays held for the next document of its
   * collection (released by `renewDue()` or `releaseIdle()` after it). Default 0: released at once.
   * A worker draining a collection otherwise releases and re-takes its lock (two durable writes)
   * between every wave of documents.
   */
  lingerMs?: number;
  now?: () => number;
}

/**
 * A share of a held lock, from {@link HeldCollectionLocks.enter}.
 *
 * @example
 * const share = await held.enter("docs", controller);
 * try { await run(); } finally { await share.exit(); }
 */
export interface CollectionLockShare {
  /** Gives the share back; the last one out releases the lock. */
  exit(): Promise<void>;
}

interface Entry {
  shares: number;
  ready: Promise<void>;
  /** The work under the lock, aborted (COLLECTION_LOCKED) if the lock is lost. */
  controllers: Set<AbortController>;
  renewedMs: number;
  /** When the last share was given back (lingering); undefined while shares are out. */
  idleSinceMs: number | undefined;
}

/**
 * The collection locks one worker holds, shared by its documents in flight: the first document
 * of a collection takes the lock, later ones share it, `renewDue()` (on the worker's heartbeat)
 * keeps it alive, and the last one out releases it. If the lock cannot be taken (another live
 * process holds it) `enter` throws COLLECTION_LOCKED, which is retryable pushback: the worker
 * hands the document back without spending an attempt. If a renewal finds the lock gone (this
 * process stalled past the TTL and another took over), the shares' controllers are aborted.
 *
 * @example
 * const held = new HeldCollectionLocks(lock, owner, { isAlive });
 * const controller = new AbortController();
 * const share = await held.enter("docs", controller); // throws COLLECTION_LOCKED if another process ingests "docs"
 * try { await runDocument(controller.signal); } finally { await share.exit(); }
 */
export class HeldCollectionLocks {
  readonly #lock: CollectionLock;
  readonly #owner: string;
  readonly #ttlMs: number;
  readonly #isAlive: ((owner: string) => boolean) | undefined;
  readonly #now: () => number;
  readonly #lingerMs: number;
  readonly #entries = new Map<string, Entry>();
  /** Releases still in flight, so a new acquire of the same collection always comes after them. */
  readonly #releasing = new Map<string, Promise<void>>();
  #renewing = false;

  constructor(lock: CollectionLock, owner: string, options: HeldCollectionLocksOptions = {}) {
    this.#lock = lock;
    this.#owner = owner;
    this.#ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    this.#isAlive = options.isAlive;
    this.#now = options.now ?? Date.now;
    this.#lingerMs = options.lingerMs ?? 0;
  }

  /** Collections whose lock is held (or being taken) now. */
  held(): string[] {
    return [...this.#entries.keys()];
  }

  /** Takes or shares the collection's lock; `controller` is aborted if the lock is lost while the share is out. */
  async enter(collection: string, controller?: AbortController): Promise<CollectionLockShare> {
    let entry = this.#entries.get(collection);
    if (!entry) {
      const created: Entry = {
        shares: 0,
        ready: this.#acquire(collection),
        controllers: new Set(),
        renewedMs: this.#now(),
        idleSinceMs: undefined,
      };
      // A refused acquire leaves nothing behind: the next document tries afresh.
      created.ready.catch(() => {
        if (this.#entries.get(collection) === created) this.#entries.delete(collection);
      });
      this.#entries.set(collection, (entry = created));
    }
    const held = entry;
    held.shares++;
    held.idleSinceMs = undefined;
    try {
      await held.ready;
    } catch (err) {
      held.shares--;
      throw err;
    }
    if (controller) held.controllers.add(controller);
    let exited = false;
    return {
      exit: async () => {
        if (exited) return;
        exited = true;
        if (controller) held.controllers.delete(controller);
        if (--held.shares > 0 || this.#entries.get(collection) !== held) return;
        if (this.#lingerMs > 0) {
          held.idleSinceMs = this.#now();
          return;
        }
        this.#entries.delete(collection);
        await this.#release(collection);
      },
    };
  }

  /**
   * Releases lingering locks idle for `lingerMs`, then renews every lock last renewed a third of
   * its TTL ago or more; aborts the shares of any lost.
   */
  async renewDue(): Promise<void> {
    if (this.#renewing) return;
    this.#renewing = true;
    try {
      await this.#releaseIdle(this.#now() - this.#lingerMs);
      const due = this.#now() - this.#ttlMs / 3;
      for (const [collection, entry] of this.#entries) {
        if (entry.renewedMs > due || (entry.shares === 0 && entry.idleSinceMs === undefined)) continue;
        let renewed: boolean;
        try {
          renewed = await this.#lock.renew(collection, this.#owner, this.#ttlMs);
        } catch {
          continue; // the backend blinked: try again on the next heartbeat, well inside the TTL
        }
        if (renewed) entry.renewedMs = this.#now();
        else {
          if (this.#entries.get(collection) === entry) this.#entries.delete(collection);
          const lost = new SluiceError(
            "COLLECTION_LOCKED",
            `lost the ingest lock of collection "${collection}" (it lapsed and another process took it); its documents in flight go back to the spool`,
            { details: { collection } },
          );
          for (const controller of entry.controllers) controller.abort(lost);
        }
      }
    } finally {
      this.#renewing = false;
    }
  }

  /** Releases every lingering lock now (a worker with nothing left to run). */
  async releaseIdle(): Promise<void> {
    await this.#releaseIdle(Number.POSITIVE_INFINITY);
  }

  async #releaseIdle(idleBeforeMs: number): Promise<void> {
    const idle = [...this.#entries].filter(
      ([, e]) => e.shares === 0 && e.idleSinceMs !== undefined && e.idleSinceMs <= idleBeforeMs,
    );
    for (const [collection] of idle) this.#entries.delete(collection);
    await Promise.all(idle.map(([collection]) => this.#release(collection)));
  }

  /** Releases every lock still held (a worker stopping). */
  async releaseAll(): Promise<void> {
    const collections = [...this.#entries.keys()];
    this.#entries.clear();
    await Promise.all(collections.map((c) => this.#release(c)));
    await Promise.all([...this.#releasing.values()]);
  }

  async #acquire(collection: string): Promise<void> {
    await this.#releasing.get(collection);
    let acquired: boolean;
    try {
      acquired = await this.#lock.acquire(
        collection,
        this.#owner,
        this.#ttlMs,
        this.#isAlive ? { isAlive: this.#isAlive } : {},
      );
    } catch (err) {
      throw new SluiceError(
        "COLLECTION_LOCKED",
        `could not take the ingest lock of collection "${collection}": ${err instanceof Error ? err.message : String(err)}`,
        { details: { collection }, cause: err },
      );
    }
    if (acquired) return;
    const holder = await this.#lock.holder(collection).catch(() => null);
    throw new SluiceError(
      "COLLECTION_LOCKED",
      `collection "${collection}" is being ingested by another process${holder ? ` (${holder.owner})` : ""}; will retry`,
      {
        details: { collection, ...(holder ? { holder: holder.owner } : {}) },
      },
    );
  }

  async #release(collection: string): Promise<void> {
    const release = this.#lock
      .release(collection, this.#owner)
      .then(() => undefined)
      // Unreleased, it lapses at its TTL; nothing else to do about a backend that failed here.
      .catch(() => undefined)
      .finally(() => {
        if (this.#releasing.get(collection) === release) this.#releasing.delete(collection);
      });
    this.#releasing.set(collection, release);
    await release;
  }
}
