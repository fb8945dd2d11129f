import type { Pool } from "pg";
import { SluiceError } from "../../contracts/errors.ts";
import { inTransaction } from "./open-postgres.ts";

/**
 * Brings one component's tables in the pool's schema up to date: migration `i` (1-based) runs once,
 * in its own transaction, and `schema_migrations` records it. Each transaction first takes an
 * advisory lock for the schema, so processes starting at once apply each migration exactly once
 * (the others wait, then find it applied). Migrations only ever add: a schema written by an older
 * Sluice opens, and one from a newer Sluice is refused by name.
 *
 * @example
 * await migratePostgres(pool, "queue", [SPOOL_V1, "alter table spool add column crashes integer not null default 0"]);
 */
export async function migratePostgres(pool: Pool, component: string, migrations: readonly string[]): Promise<void> {
  for (;;) {
    const finished = await inTransaction(pool, async (c) => {
      const schema = (await c.query<{ s: string | null }>("select current_schema() as s")).rows[0]?.s;
      if (!schema)
        throw new SluiceError(
          "CONFIG_INVALID",
          "the PostgreSQL schema on the search_path does not exist; open the pool through SharedPostgres, which creates it",
        );
      await c.query("select pg_advisory_xact_lock(hashtext($1))", [`sluice:migrate:${schema}`]);
      await c.query(
        "create table if not exists schema_migrations (component text not null, version integer not null, applied_at timestamptz not null default now(), primary key (component, version))",
      );
      const applied =
        (
          await c.query<{ v: number }>(
            "select coalesce(max(version), 0)::int as v from schema_migrations where component = $1",
            [component],
          )
        ).rows[0]?.v ?? 0;
      if (applied > migrations.length) {
        throw new SluiceError(
          "CONFIG_INVALID",
          `${component} tables in PostgreSQL schema "${schema}" are at version ${applied}, newer than this Sluice knows (${migrations.length}); upgrade Sluice to use this database`,
          { details: { component, schema, version: applied, known: migrations.length } },
        );
      }
      if (applied === migrations.length) return true;
      // No parameters: sent as a simple query, so one migration may hold several statements.
      await c.query(migrations[applied]!);
      await c.query("insert into schema_migrations(component, version) values ($1, $2)", [component, applied + 1]);
      return false;
    });
    if (finished) return;
  }
}
