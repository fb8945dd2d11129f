import { join } from "node:path";
import type { SluiceConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import { redisSettings } from "../db/redis/open-redis.ts";
import type { JobStores } from "./stores.ts";
import { sqliteStores } from "./sqlite/sqlite-stores.ts";

/**
 * Where PostgreSQL is: `postgres.url` of the loaded config, which env SLUICE_DATABASE_URL
 * overrides (`loadConfig`), so a password never has to be written in `sluice.yaml`.
 *
 * @example
 * postgresUrl(config); // "postgres://sluice@db:5432/sluice" or null
 */
export function postgresUrl(config: SluiceConfig): string | null {
  return config.postgres.url ?? null;
}

/**
 * The ledger and work queue the config asks for, not opened yet: `database: sqlite` keeps both
 * in the data folder's `ledger.db`; `database: postgres` keeps both in PostgreSQL; `queue: bullmq`
 * dispatches through Redis on top of either, the database staying the system of record.
 *
 * @example
 * const stores = await createStores(config, ".sluice");
 * await stores.open();
 */
export async function createStores(config: SluiceConfig, dataDir: string): Promise<JobStores> {
  let records: JobStores;
  if (config.database === "postgres") {
    const url = postgresUrl(config);
    if (!url)
      throw new SluiceError(
        "CONFIG_INVALID",
        "database: postgres needs a server: set SLUICE_DATABASE_URL or postgres.url (postgres://user@host:5432/db)",
      );
    // Loaded only when asked for: the embedded default never loads the PostgreSQL client.
    const { postgresStores } = await import("./postgres/postgres-stores.ts");
    records = postgresStores({ url, schema: config.postgres.schema });
  } else {
    records = sqliteStores(join(dataDir, "ledger.db"));
  }
  if (config.queue === "embedded") return records;
  const redis = redisSettings(config);
  if (!redis)
    throw new SluiceError(
      "CONFIG_INVALID",
      "queue: bullmq needs a Redis: set SLUICE_REDIS_URL or redis.url (redis://host:6379)",
    );
  const { bullmqStores } = await import("./bullmq/bullmq-stores.ts");
  return bullmqStores(records, { redis });
}
