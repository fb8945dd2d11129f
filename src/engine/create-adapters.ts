import { join } from "node:path";
import type { SluiceConfig } from "../config/schema.ts";
import type { CollectionLock } from "../locks/collection-lock.ts";
import { createCollectionLock } from "../locks/create-collection-lock.ts";
import { createModelPlane } from "../models/create-model-plane.ts";
import { InProcessModels } from "../models/in-process-models.ts";
import type { ModelPlane } from "../models/model-plane.ts";
import type { DenseEmbedder } from "../models/ports.ts";
import { createStores } from "../queue/create-stores.ts";
import type { JobStores } from "../queue/stores.ts";
import type { IndexStore } from "../store/index-store.ts";
import { SqliteIndexStore } from "../store/sqlite/sqlite-index-store.ts";

/** Everything the engine runs on, each behind its port. */
export interface SluiceAdapters {
  /** The ledger and the work queue (`database`, `queue`). */
  stores: JobStores;
  index: IndexStore;
  /** Null when `locks.collections` is off. */
  locks: CollectionLock | null;
  models: ModelPlane;
}

/**
 * The index the config asks for, not opened yet: the data folder's `index.db` by default, or
 * PostgreSQL (pgvector) beside the ledger with `database: postgres`.
 *
 * @example
 * const index = await createIndexStore(config, ".sluice");
 */
export async function createIndexStore(config: SluiceConfig, dataDir: string): Promise<IndexStore> {
  if (config.database !== "postgres")
    return new SqliteIndexStore(join(dataDir, "index.db"), { writeThread: config.ingest.writeThread });
  // Loaded only when asked for: the embedded default never loads the PostgreSQL client.
  const [{ postgresSettings }, { PostgresIndexStore }] = await Promise.all([
    import("../db/postgres/open-postgres.ts"),
    import("../store/postgres/postgres-index-store.ts"),
  ]);
  return new PostgresIndexStore(postgresSettings(config)!, { hnsw: config.postgres.hnsw });
}

/**
 * The one place adapters are chosen from the config; none is opened yet (`Sluice.open` opens
 * them). `embedder` replaces the configured dense embedder (tests, benchmarks).
 *
 * @example
 * const sluice = await Sluice.open({ dataDir, config, adapters: await createAdapters(config, dataDir) });
 */
export async function createAdapters(
  config: SluiceConfig,
  dataDir: string,
  overrides: { embedder?: DenseEmbedder } = {},
): Promise<SluiceAdapters> {
  return {
    stores: await createStores(config, dataDir),
    index: await createIndexStore(config, dataDir),
    locks: config.locks.collections ? createCollectionLock(config, dataDir) : null,
    models: overrides.embedder
      ? new InProcessModels({
          embedder: config.embedder,
          ocrLanguages: config.ocr.languages,
          dataDir,
          overrides: { embedder: overrides.embedder },
        })
      : await createModelPlane(config, dataDir),
  };
}
