import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeIndexStoreConformance } from "../index-store.conformance.ts";
import { SqliteIndexStore } from "./sqlite-index-store.ts";

describeIndexStoreConformance(
  "sqlite",
  async () => new SqliteIndexStore(join(mkdtempSync(join(tmpdir(), "sluice-store-")), "index.db")),
);

describeIndexStoreConformance(
  "sqlite, writes on a writer thread",
  async () =>
    new SqliteIndexStore(join(mkdtempSync(join(tmpdir(), "sluice-store-")), "index.db"), { writeThread: true }),
);
