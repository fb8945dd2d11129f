import { randomBytes } from "node:crypto";
import pg from "pg";

/**
 * The PostgreSQL the integration tests use (a real server; env SLUICE_TEST_DATABASE_URL overrides).
 *
 * @example
 * const stores = postgresStores({ url: TEST_DATABASE_URL, schema: testSchema() });
 */
export const TEST_DATABASE_URL =
  process.env["SLUICE_TEST_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/sluice_test";

/**
 * A schema no other test run shares: `test_<12 hex digits>`.
 *
 * @example
 * const schema = testSchema();
 */
export function testSchema(): string {
  return `test_${randomBytes(6).toString("hex")}`;
}

async function withClient<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (error) {
    const where = url.replace(/\/\/[^@/]*@/, "//…@");
    throw new Error(
      `PostgreSQL is not reachable at ${where} (${(error as Error).message}); the PostgreSQL tests need a running server (CI starts one), or set SLUICE_TEST_DATABASE_URL`,
      {
        cause: error,
      },
    );
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Creates the test database when it is missing (connecting to the server's `postgres` database to
 * do it); test files starting at once may race, and "already exists" is fine. Throws a clear
 * error when the server cannot be reached: the tests fail, they do not skip.
 *
 * @example
 * before(() => ensureTestDatabase());
 */
export async function ensureTestDatabase(url = TEST_DATABASE_URL): Promise<void> {
  const target = new URL(url);
  const name = decodeURIComponent(target.pathname.slice(1));
  if (!name || name === "postgres") return;
  const admin = new URL(url);
  admin.pathname = "/postgres";
  await withClient(admin.toString(), async (client) => {
    if ((await client.query("select 1 from pg_database where datname = $1", [name])).rowCount) return;
    try {
      await client.query(`create database "${name.replaceAll('"', '""')}"`);
    } catch (error) {
      // 42P04 duplicate_database; 23505 when the other CREATE DATABASE was still committing.
      const code = (error as { code?: string }).code;
      if (code !== "42P04" && code !== "23505") throw error;
    }
  });
}

/**
 * Drops a test schema with everything in it.
 *
 * @example
 * after(() => dropTestSchema(schema));
 */
export async function dropTestSchema(schema: string, url = TEST_DATABASE_URL): Promise<void> {
  await withClient(url, async (client) => {
    await client.query(`drop schema if exists "${schema.replaceAll('"', '""')}" cascade`);
  });
}
