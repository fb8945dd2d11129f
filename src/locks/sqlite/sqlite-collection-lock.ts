import type Database from "better-sqlite3";
import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import type { AcquireOptions, CollectionLock, LockHolder } from "../collection-lock.ts";

/**
 * One row per held (or lapsed, not yet overwritten) lock, in the ledger's SQLite file.
 *
 * @example
 * db.exec(COLLECTION_LOCK_SCHEMA);
 */
export const COLLECTION_LOCK_SCHEMA = `
create table if not exists collection_locks (
  collection text primary key,
  owner text not null,
  expires_ms integer not null
) without rowid;
`;

interface LockRow {
  owner: string;
  expires_ms: number;
}

/**
 * Collection locks in a SQLite file (the ledger's, `ledger.db`), shared by every process that
 * opens the same data directory. Each change is one BEGIN IMMEDIATE transaction, so the check
 * and the write cannot interleave with another process's; expiry is by the wall clock, which
 * every process on one machine shares. It opens its own connection to the file.
 *
 * @example
 * const lock = new SqliteCollectionLock(join(dataDir, "ledger.db"));
 * await lock.open();
 * await lock.acquire("docs", owner, 300_000);
 */
export class SqliteCollectionLock implements CollectionLock {
  readonly path: string;
  readonly #now: () => number;
  #db: SqliteDatabase | null = null;
  #statements: StatementCache | null = null;

  /** `now` is the clock (tests); default `Date.now`. */
  constructor(path: string, options: { now?: () => number } = {}) {
    this.path = path;
    this.#now = options.now ?? Date.now;
  }

  async open(): Promise<void> {
    if (this.#db) return;
    const db = openSqlite(this.path);
    // Under the write lock (waiting for it): processes opening a new file at once would race this DDL.
    db.transaction(() => db.exec(COLLECTION_LOCK_SCHEMA)).immediate();
    this.#db = db;
    this.#statements = new StatementCache(db);
  }

  async close(): Promise<void> {
    this.#statements = null;
    this.#db?.close();
    this.#db = null;
  }

  get #database(): SqliteDatabase {
    if (!this.#db) throw new Error("SqliteCollectionLock is not open; call open() first");
    return this.#db;
  }

  #stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    if (!this.#statements) throw new Error("SqliteCollectionLock is not open; call open() first");
    return this.#statements.get<P, R>(sql);
  }

  #row(collection: string): LockRow | undefined {
    return this.#stmt<[string], LockRow>("select owner, expires_ms from collection_locks where collection = ?").get(
      collection,
    );
  }

  async acquire(collection: string, owner: string, ttlMs: number, options: AcquireOptions = {}): Promise<boolean> {
    return this.#database
      .transaction(() => {
        const now = this.#now();
        const row = this.#row(collection);
        const free =
          !row ||
          row.expires_ms <= now ||
          row.owner === owner ||
          (options.isAlive !== undefined && !options.isAlive(row.owner));
        if (!free) return false;
        this.#stmt(
          "insert into collection_locks(collection, owner, expires_ms) values (?, ?, ?) on conflict(collection) do update set owner = excluded.owner, expires_ms = excluded.expires_ms",
        ).run(collection, owner, now + ttlMs);
        return true;
      })
      .immediate();
  }

  async renew(collection: string, owner: string, ttlMs: number): Promise<boolean> {
    const now = this.#now();
    // One statement is one transaction: a lapsed lock is not the owner's to extend any more.
    return (
      this.#stmt(
        "update collection_locks set expires_ms = ? where collection = ? and owner = ? and expires_ms > ?",
      ).run(now + ttlMs, collection, owner, now).changes === 1
    );
  }

  async release(collection: string, owner: string): Promise<boolean> {
    return this.#database
      .transaction(() => {
        const row = this.#row(collection);
        if (!row || row.owner !== owner) return false;
        this.#stmt("delete from collection_locks where collection = ?").run(collection);
        return row.expires_ms > this.#now();
      })
      .immediate();
  }

  async holder(collection: string): Promise<LockHolder | null> {
    const row = this.#row(collection);
    const left = row ? row.expires_ms - this.#now() : 0;
    return row && left > 0 ? { owner: row.owner, expiresInMs: left } : null;
  }
}
