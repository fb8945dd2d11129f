import { SharedSqlite } from "../../db/sqlite-migrations.ts";
import { openLedgerDb, SqliteLedger } from "../../ledger/sqlite/sqlite-ledger.ts";
import { pairStores, type JobStores } from "../stores.ts";
import { SqliteWorkQueue } from "./sqlite-work-queue.ts";

/**
 * The embedded ledger and work queue, sharing one SQLite file (`ledger.db`).
 *
 * @example
 * const stores = sqliteStores(join(dataDir, "ledger.db"));
 * await stores.open();
 */
export function sqliteStores(path: string): JobStores & { queue: SqliteWorkQueue } {
  const file = new SharedSqlite(path, openLedgerDb);
  const queue = new SqliteWorkQueue(file);
  return { ...pairStores("embedded", new SqliteLedger(file), queue), queue };
}
