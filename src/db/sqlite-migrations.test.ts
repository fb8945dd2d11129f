import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openSqlite } from "./open-sqlite.ts";
import { migrateSqlite } from "./sqlite-migrations.ts";

describe("migrateSqlite", () => {
  const dir = mkdtempSync(join(tmpdir(), "sluice-migrate-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("a process that read an old version while another migrated finds each migration done, and skips it", () => {
    const file = join(dir, "race.db");
    const first = openSqlite(file);
    const second = openSqlite(file);
    try {
      const migrations = ["create table a (x integer)", "create table b (y integer)"];
      migrateSqlite(first, "demo", migrations);
      // `second` reads the version before `first` commits: stand that in by hiding the rows from
      // its first look, as the real race does.
      const stale = new Proxy(second, {
        get(target, key, receiver) {
          if (key !== "prepare") return Reflect.get(target, key, receiver) as unknown;
          return (sql: string) => {
            const statement = target.prepare(sql);
            return sql.startsWith("select max(version)") ? { get: () => ({ v: 0 }) } : statement;
          };
        },
      });
      assert.doesNotThrow(() => migrateSqlite(stale, "demo", migrations));
      const versions = first
        .prepare<[], { version: number }>(
          "select version from schema_migrations where component = 'demo' order by version",
        )
        .all()
        .map((r) => r.version);
      assert.deepEqual(versions, [1, 2]);
    } finally {
      first.close();
      second.close();
    }
  });
});
