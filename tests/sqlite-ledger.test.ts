import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sqliteStores } from "../src/queue/sqlite/sqlite-stores.ts";
import { describeLedgerConformance } from "../src/ledger/ledger.conformance.ts";

describeLedgerConformance("sqlite", async () =>
  sqliteStores(join(mkdtempSync(join(tmpdir(), "sluice-ledger-")), "ledger.db")),
);
