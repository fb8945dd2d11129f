import type { SqliteDatabase } from "./open-sqlite.ts";

/**
 * Brings one component's tables in a SQLite file up to date: migration `i` (1-based) runs once,
 * in its own transaction, and `schema_migrations` records it. Migrations only ever add: a data
 * folder written by an older Sluice opens, and one from a newer Sluice is refused by name.
 *
 * @example
 * migrateSqlite(db, "queue", [SPOOL_V1, "alter table spool add column crashes integer not null default 0"]);
 */
export function migrateSqlite(db: SqliteDatabase, component: string, migrations: readonly string[]): void {
  // Under the write lock (waiting for it): processes opening a new file at once would race this DDL.
  db.transaction(() =>
    db.exec(
      "create table if not exists schema_migrations (component text not null, version integer not null, applied_at text not null, primary key (component, version))",
    ),
  ).immediate();
  const applied =
    db
      .prepare<[string], { v: number | null }>("select max(version) as v from schema_migrations where component = ?")
      .get(component)?.v ?? 0;
  if (applied > migrations.length) {
    throw new Error(
      `${component} schema is at version ${applied}, newer than this Sluice knows (${migrations.length}); upgrade Sluice to open this data folder`,
    );
  }
  const done = db.prepare<[string, number], { v: number }>(
    "select version as v from schema_migrations where component = ? and version = ?",
  );
  for (let v = applied + 1; v <= migrations.length; v++) {
    db.transaction(() => {
      // Two processes opening one data folder at once both read the version above; the write lock
      // this transaction takes decides which one migrates, and the other finds it done.
      if (done.get(component, v)) return;
      db.exec(migrations[v - 1]!);
      db.prepare("insert into schema_migrations(component, version, applied_at) values (?, ?, ?)").run(
        component,
        v,
        new Date().toISOString(),
      );
    }).immediate();
  }
}

/**
 * One SQLite file shared by the adapters that keep their tables in it (the ledger and the embedded
 * work queue share `ledger.db`, so one transaction can span both): opened by the first `acquire`,
 * closed by the last `release`.
 *
 * @example
 * const file = new SharedSqlite(join(dataDir, "ledger.db"), openSqlite);
 * const db = file.acquire(); … file.release();
 */
export class SharedSqlite {
  readonly path: string;
  readonly #open: (path: string) => SqliteDatabase;
  #db: SqliteDatabase | null = null;
  #users = 0;

  constructor(path: string, open: (path: string) => SqliteDatabase) {
    this.path = path;
    this.#open = open;
  }

  acquire(): SqliteDatabase {
    this.#db ??= this.#open(this.path);
    this.#users++;
    return this.#db;
  }

  /** Acquires the file for one component and brings that component's tables up to date (each adapter's `open()`). */
  acquireMigrated(component: string, migrations: readonly string[]): SqliteDatabase {
    const db = this.acquire();
    try {
      migrateSqlite(db, component, migrations);
      return db;
    } catch (error) {
      this.release();
      throw error;
    }
  }

  release(): void {
    if (this.#users === 0) return;
    if (--this.#users === 0) {
      this.#db?.close();
      this.#db = null;
    }
  }
}
