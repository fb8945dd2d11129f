import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describeLedgerConformance } from "../ledger.conformance.ts";
import { SqliteLedger } from "./sqlite-ledger.ts";

describeLedgerConformance("sqlite", async () => new SqliteLedger(join(mkdtempSync(join(tmpdir(), "sluice-ledger-")), "ledger.db")));
