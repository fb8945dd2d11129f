import Database from "better-sqlite3";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import * as sqliteVec from "sqlite-vec";

export type SqliteDatabase = Database.Database;

export interface OpenSqliteOptions {
  /** Load the sqlite-vec extension (the index needs it; the ledger does not). */
  vectors?: boolean;
}

/**
 * Opens a SQLite file the way every embedded store wants it: WAL so readers never block the
 * writer, synchronous=FULL so a committed transaction survives power loss, and a busy timeout
 * so a CLI reading the ledger while a worker writes waits instead of failing. Every write
 * transaction in the adapters is BEGIN IMMEDIATE: a deferred one that reads first and then writes
 * fails at once with SQLITE_BUSY when another process wrote in between (WAL cannot wait there).
 *
 * @example
 * const db = openSqlite(join(dataDir, "index.db"), { vectors: true });
 */
export function openSqlite(path: string, options: OpenSqliteOptions = {}): SqliteDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  // The busy timeout first: switching a new file to WAL takes a lock that another connection
  // opening it at the same moment (a second process, or an embedder thread) may hold briefly.
  db.pragma("busy_timeout = 10000");
  db.pragma("journal_mode = WAL");
  db.pragma("synchronous = FULL");
  db.pragma("foreign_keys = ON");
  if (options.vectors) sqliteVec.load(db);
  return db;
}
