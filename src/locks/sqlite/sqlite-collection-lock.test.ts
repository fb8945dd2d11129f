import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeCollectionLockConformance } from "../collection-lock.conformance.ts";
import { SqliteCollectionLock } from "./sqlite-collection-lock.ts";

describeCollectionLockConformance(
  "sqlite",
  async () => new SqliteCollectionLock(join(mkdtempSync(join(tmpdir(), "sluice-locks-")), "ledger.db")),
);
