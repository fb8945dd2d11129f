import type { Pool } from "pg";
import { redactUrl } from "../../config/redact.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { assertSchemaName, type PostgresSettings } from "../../db/postgres/open-postgres.ts";
import type { PostgresLedger } from "../../ledger/postgres/postgres-ledger.ts";
import { postgresStores } from "../../queue/postgres/postgres-stores.ts";
import { type HnswSettings, PostgresIndexStore } from "../../store/postgres/postgres-index-store.ts";

/**
 * Throws VALIDATION_FAILED unless `url` is a PostgreSQL connection URL (`postgres://` or
 * `postgresql://`). The message shows the URL with its password hidden.
 *
 * @example
 * assertPostgresUrl("postgres://sluice@db:5432/sluice"); // fine
 * assertPostgresUrl("mysql://db/x"); // throws: --to must be a PostgreSQL URL …
 */
export function assertPostgresUrl(url: string): void {
  let parsed: URL | null = null;
  try {
    parsed = new URL(url);
  } catch {
    // reported below
  }
  if (!parsed || (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:"))
    throw new SluiceError(
      "VALIDATION_FAILED",
      `--to must be a PostgreSQL URL like postgres://user@host:5432/db, got "${redactUrl(url)}"`,
      { details: { to: redactUrl(url) } },
    );
}

/** `text` with the URL's password (plain and percent-encoded) replaced, should a driver ever quote it. */
function hidePassword(text: string, url: string): string {
  let password = "";
  try {
    password = new URL(url).password;
  } catch {
    return text;
  }
  if (!password) return text;
  return text.replaceAll(password, "***").replaceAll(decodeURIComponent(password), "***");
}

const UNREACHABLE = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "EHOSTUNREACH", "ECONNRESET"]);

/**
 * A failure to open PostgreSQL as an error that says what to fix: STORE_UNAVAILABLE when the
 * server cannot be reached, CONFIG_INVALID when it refuses the login, lacks the database or the
 * rights. Never carries the password.
 */
function connectFailure(error: unknown, url: string): unknown {
  if (error instanceof SluiceError) return error;
  const raw = (error as { code?: unknown }).code;
  const code = typeof raw === "string" ? raw : "";
  const reason = hidePassword(error instanceof Error ? error.message : String(error), url);
  const where = `PostgreSQL at ${redactUrl(url)}`;
  if (UNREACHABLE.has(code) || /^08/.test(code) || /timeout|terminated|connection error/i.test(reason))
    return new SluiceError(
      "STORE_UNAVAILABLE",
      `${where} cannot be reached (${code || reason}): check the host and port in --to and that the server is running`,
      { details: { to: redactUrl(url) } },
    );
  if (code === "28P01" || code === "28000")
    return new SluiceError("CONFIG_INVALID", `${where} refused the login (${reason}): check the user and password`, {
      details: { to: redactUrl(url) },
    });
  if (code === "3D000")
    return new SluiceError("CONFIG_INVALID", `${where}: ${reason}; create the database first (createdb)`, {
      details: { to: redactUrl(url) },
    });
  // Anything else is the server's setup (rights on the database, the schema, the extension).
  return new SluiceError("CONFIG_INVALID", `${where} could not be opened: ${reason}`, {
    details: { to: redactUrl(url), code },
  });
}

/** The PostgreSQL side of a migration: the index, the ledger and the queue's tables, and a pool on them. */
export interface PostgresTarget {
  index: PostgresIndexStore;
  ledger: PostgresLedger;
  /** A pool on the ledger's schema (the job tables and the spool). */
  pool: Pool;
  close(): Promise<void>;
}

/**
 * Opens the index, ledger and queue of a PostgreSQL schema (creating the schema and bringing its
 * tables up to date, as any Sluice process does on start), mapping a server that cannot be reached
 * or refuses the login to an error that names the redacted URL.
 *
 * @example
 * const target = await openPostgresTarget({ url: "postgres://sluice@db:5432/sluice", schema: "sluice" });
 * try { … } finally { await target.close(); }
 */
export async function openPostgresTarget(
  settings: PostgresSettings,
  options: { hnsw?: Partial<HnswSettings>; connections?: number } = {},
): Promise<PostgresTarget> {
  assertPostgresUrl(settings.url);
  assertSchemaName(settings.schema);
  const index = new PostgresIndexStore(settings, {
    ...(options.hnsw ? { hnsw: options.hnsw } : {}),
    max: options.connections ?? 5,
  });
  const stores = postgresStores(settings, { max: 2 });
  let pool: Pool | null = null;
  try {
    await stores.open();
    await index.open();
    pool = await stores.ledger.db.acquire();
  } catch (error) {
    await index.close().catch(() => undefined);
    await stores.close().catch(() => undefined);
    throw connectFailure(error, settings.url);
  }
  return {
    index,
    ledger: stores.ledger,
    pool,
    async close() {
      await index.close();
      await stores.ledger.db.release();
      await stores.close();
    },
  };
}
