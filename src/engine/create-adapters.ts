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
    index: new SqliteIndexStore(join(dataDir, "index.db"), { writeThread: config.ingest.writeThread }),
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
