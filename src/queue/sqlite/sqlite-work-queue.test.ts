import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeWorkQueueConformance } from "../work-queue.conformance.ts";
import { sqliteStores } from "./sqlite-stores.ts";

describeWorkQueueConformance("sqlite", async () =>
  sqliteStores(join(mkdtempSync(join(tmpdir(), "sluice-queue-")), "ledger.db")),
);
