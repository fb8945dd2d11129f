import type Database from "better-sqlite3";

/**
 * Prepared statements by SQL text: preparing a statement costs more than running it, and the
 * adapters run the same few hundred statements millions of times.
 *
 * @example
 * const statements = new StatementCache(db);
 * statements.get<[string], { n: number }>("select count(*) as n from jobs where state = ?").get("PENDING");
 */
export class StatementCache {
  readonly #db: Database.Database;
  readonly #statements = new Map<string, Database.Statement>();

  constructor(db: Database.Database) {
    this.#db = db;
  }

  get<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    let stmt = this.#statements.get(sql);
    if (!stmt) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt as unknown as Database.Statement<P, R>;
  }

  /** Forget every statement (after a schema change, or before closing). */
  clear(): void {
    this.#statements.clear();
  }
}
