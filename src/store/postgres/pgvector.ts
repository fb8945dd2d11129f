import type { Pool } from "pg";
import { SluiceError } from "../../contracts/errors.ts";
import { inTransaction } from "../../db/postgres/open-postgres.ts";

const INSTALL_HINT =
  "install pgvector on the PostgreSQL server (Debian: sudo bash scripts/install-pgvector.sh; elsewhere the postgresql-<version>-pgvector package or https://github.com/pgvector/pgvector), then start Sluice again";

/**
 * The schema the `vector` extension lives in, creating the extension (in `public`, so every
 * Sluice schema of the database shares it) where it is missing. Without pgvector on the server,
 * or without the right to create it, throws CONFIG_INVALID saying what to install or ask for.
 *
 * @example
 * const ext = await ensurePgvector(pool); // "public"
 * await pool.query(`select '[1,2]'::${ext}.vector`);
 */
export async function ensurePgvector(pool: Pool): Promise<string> {
  const found = async () =>
    (
      await pool.query<{ s: string }>(
        "select extnamespace::regnamespace::text as s from pg_extension where extname = 'vector'",
      )
    ).rows[0]?.s;
  const existing = await found();
  if (existing) return existing;
  try {
    await inTransaction(pool, async (c) => {
      // Two processes creating it at once would collide on pg_extension's unique index.
      await c.query("select pg_advisory_xact_lock(hashtext('sluice:create-extension:vector'))");
      await c.query("create schema if not exists public");
      await c.query("create extension if not exists vector schema public");
    });
  } catch (error) {
    const code = (error as { code?: string }).code;
    const reason = (error as Error).message;
    if (code === "58P01" || code === "0A000")
      throw new SluiceError(
        "CONFIG_INVALID",
        `the PostgreSQL index needs pgvector, which this server lacks (${reason}): ${INSTALL_HINT}`,
        {
          cause: error,
          details: { extension: "vector" },
        },
      );
    if (code === "42501")
      throw new SluiceError(
        "CONFIG_INVALID",
        `the PostgreSQL index needs the pgvector extension in this database, and this user may not create it (${reason}): ask a superuser to run CREATE EXTENSION vector SCHEMA public`,
        { cause: error, details: { extension: "vector" } },
      );
    throw error;
  }
  return (await found()) ?? "public";
}
