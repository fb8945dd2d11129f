import { after } from "node:test";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../src/db/postgres/postgres.fixture.ts";
import { postgresStores } from "../src/queue/postgres/postgres-stores.ts";
import { describeLedgerConformance } from "../src/ledger/ledger.conformance.ts";

const schema = testSchema();
let reached = false;

describeLedgerConformance("postgres", async () => {
  await ensureTestDatabase();
  reached = true;
  return postgresStores({ url: TEST_DATABASE_URL, schema });
});

after(async () => {
  if (reached) await dropTestSchema(schema);
});
