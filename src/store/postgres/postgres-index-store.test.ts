import { after, before } from "node:test";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../../db/postgres/postgres.fixture.ts";
import { describeIndexStoreConformance } from "../index-store.conformance.ts";
import { PostgresIndexStore } from "./postgres-index-store.ts";

const schemas: string[] = [];
before(() => ensureTestDatabase());
after(async () => {
  for (const schema of schemas) await dropTestSchema(schema);
});

describeIndexStoreConformance("postgres", async () => {
  const schema = testSchema();
  schemas.push(schema);
  return new PostgresIndexStore({ url: TEST_DATABASE_URL, schema });
});
