import { SharedPostgres, type OpenPostgresOptions, type PostgresSettings } from "../../db/postgres/open-postgres.ts";
import { PostgresLedger } from "../../ledger/postgres/postgres-ledger.ts";
import { pairStores, type JobStores } from "../stores.ts";
import { PostgresWorkQueue } from "./postgres-work-queue.ts";

/**
 * The ledger and work queue in one PostgreSQL schema, sharing one connection pool: `open` creates
 * the schema when missing and brings both components' tables up to date; `close` ends the pool.
 *
 * @example
 * const stores = postgresStores({ url: "postgres://sluice@db:5432/sluice", schema: "sluice" });
 * await stores.open();
 * const leases = await stores.queue.lease("host:42:ab", 16, 30_000);
 */
export function postgresStores(
  settings: PostgresSettings,
  options: OpenPostgresOptions = {},
): JobStores & { ledger: PostgresLedger; queue: PostgresWorkQueue } {
  const db = new SharedPostgres(settings, options);
  const ledger = new PostgresLedger(db);
  const queue = new PostgresWorkQueue(db);
  return { ...pairStores("postgres", ledger, queue), ledger, queue };
}
