import { Pool, type PoolClient } from "pg";
import type { SluiceConfig } from "../../config/schema.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { migratePostgres } from "./migrate-postgres.ts";

/**
 * Where PostgreSQL is and which schema holds Sluice's tables.
 *
 * @example
 * const settings: PostgresSettings = { url: "postgres://sluice@db:5432/sluice", schema: "sluice" };
 */
export interface PostgresSettings {
  /** `postgres://user[:password]@host:port/db[?sslmode=require]`. */
  url: string;
  /** A lowercase SQL identifier; created on first open when missing. */
  schema: string;
}

/**
 * How the pool behaves (the defaults suit a worker or an API process).
 *
 * @example
 * const pool = openPostgres(settings, { max: 4, onError: (e) => log.warn({ err: e }, "postgres connection lost") });
 */
export interface OpenPostgresOptions {
  /** Connections in the pool (default 10). */
  max?: number;
  /** Told about errors of idle connections (the pool drops them and opens new ones as needed). */
  onError?: (error: Error) => void;
  /**
   * Server settings every connection starts with (startup `-c name=value`), beside `search_path`:
   * in force before any query runs, with no round trip (`{ "hnsw.ef_search": 100 }`).
   */
  settings?: Record<string, string | number>;
}

const SETTING_NAME = /^[a-z_][a-z0-9_]*(?:\.[a-z_][a-z0-9_]*)?$/;

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * The PostgreSQL the config asks for, or `null` when `database` is not `postgres`. The URL is
 * `postgres.url`, which env SLUICE_DATABASE_URL overrides when the config is loaded, so a
 * password never has to be written in `sluice.yaml`.
 *
 * @example
 * const settings = postgresSettings(config); // { url: "postgres://sluice@db:5432/sluice", schema: "sluice" } or null
 */
export function postgresSettings(config: Pick<SluiceConfig, "database" | "postgres">): PostgresSettings | null {
  if (config.database !== "postgres") return null;
  const url = config.postgres.url;
  if (!url)
    throw new SluiceError(
      "CONFIG_INVALID",
      "database: postgres needs a server: set SLUICE_DATABASE_URL or postgres.url (postgres://user@host:5432/db)",
    );
  return { url, schema: config.postgres.schema };
}

/**
 * Throws CONFIG_INVALID unless `schema` is a lowercase SQL identifier (it is written into SQL and
 * into the connection's `search_path`, so nothing else is accepted).
 *
 * @example
 * assertSchemaName("sluice");
 */
export function assertSchemaName(schema: string): void {
  if (!SCHEMA_NAME.test(schema)) {
    throw new SluiceError(
      "CONFIG_INVALID",
      `postgres.schema "${schema}" is not a lowercase SQL identifier (a-z, 0-9, _; at most 63 characters)`,
      { details: { schema } },
    );
  }
}

/**
 * A pool whose every connection has `search_path` set to the schema at connect time (a startup
 * parameter, so no query can run on another schema first). The constructor does no I/O: the first
 * query connects. An idle connection's error is reported to `onError` instead of crashing the
 * process. The schema is not created here: {@link SharedPostgres} does that on first acquire.
 *
 * @example
 * const pool = openPostgres({ url: "postgres://postgres@127.0.0.1:5432/sluice", schema: "sluice" });
 * await pool.query("select 1");
 * await pool.end();
 */
export function openPostgres(settings: PostgresSettings, options: OpenPostgresOptions = {}): Pool {
  assertSchemaName(settings.schema);
  const startupSettings = Object.entries(options.settings ?? {}).map(([name, value]) => {
    if (!SETTING_NAME.test(name) || !/^[A-Za-z0-9_.]+$/.test(String(value)))
      throw new Error(`invalid PostgreSQL startup setting ${name}=${String(value)}`);
    return ` -c ${name}=${String(value)}`;
  });
  const searchPath = `-c search_path=${settings.schema}${startupSettings.join("")}`;
  let connectionString = settings.url;
  let startup: string | undefined = searchPath;
  // Parameters in the URL override the pool's config, so options already there must carry ours.
  if (/[?&]options=/.test(settings.url)) {
    const url = new URL(settings.url);
    url.searchParams.set("options", `${url.searchParams.get("options") ?? ""} ${searchPath}`.trim());
    connectionString = url.toString();
    startup = undefined;
  }
  const pool = new Pool({
    connectionString,
    ...(startup ? { options: startup } : {}),
    max: options.max ?? 10,
    connectionTimeoutMillis: 10_000,
    idleTimeoutMillis: 30_000,
    application_name: "sluice",
  });
  pool.on("error", (error) => options.onError?.(error));
  return pool;
}

const RETRYABLE = new Set(["40P01", "40001"]); // deadlock_detected, serialization_failure

/**
 * Runs `fn` in one transaction on one pooled connection: COMMIT when it resolves, ROLLBACK when it
 * throws. A deadlock or serialization failure (which rolls everything back) is retried twice. A
 * connection that breaks meanwhile is thrown away rather than returned to the pool.
 *
 * @example
 * const n = await inTransaction(
 *   pool,
 *   async (c) => (await c.query("update jobs set sealed = true where id = $1", [id])).rowCount,
 * );
 */
export async function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await once(pool, fn);
    } catch (error) {
      if (attempt >= 3 || !RETRYABLE.has((error as { code?: unknown }).code as string)) throw error;
    }
  }
}

async function once<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // While checked out, a connection's error event has no pool listener; without one it would crash the process.
  const onError = (error: Error) => (broken = error);
  client.on("error", onError);
  try {
    await client.query("begin");
    const result = await fn(client);
    await client.query("commit");
    return result;
  } catch (error) {
    await client.query("rollback").catch((e: unknown) => (broken ??= e instanceof Error ? e : new Error(String(e))));
    throw error;
  } finally {
    client.off("error", onError);
    client.release(broken ?? false);
  }
}

/**
 * One pool shared by the adapters that keep their tables in one schema (the ledger and the work
 * queue, so one transaction can span both): opened by the first `acquire`, which also creates the
 * schema when missing, and ended by the last `release`.
 *
 * @example
 * const db = new SharedPostgres({ url: "postgres://postgres@127.0.0.1:5432/sluice", schema: "sluice" });
 * const pool = await db.acquire(); … await db.release();
 */
export class SharedPostgres {
  readonly settings: PostgresSettings;
  readonly #options: OpenPostgresOptions;
  #pool: Promise<Pool> | null = null;
  #users = 0;

  constructor(settings: PostgresSettings, options: OpenPostgresOptions = {}) {
    assertSchemaName(settings.schema);
    this.settings = settings;
    this.#options = options;
  }

  async acquire(): Promise<Pool> {
    // Counted before waiting, so a release meanwhile does not end the pool under this user.
    this.#users++;
    const opening = (this.#pool ??= this.#open());
    try {
      return await opening;
    } catch (error) {
      this.#users--;
      if (this.#pool === opening) this.#pool = null;
      throw error;
    }
  }

  /**
   * Acquires the pool for one component and brings that component's tables up to date: what each
   * adapter's `open()` does. A failed migration gives the pool back.
   */
  async acquireMigrated(component: string, migrations: readonly string[]): Promise<Pool> {
    const pool = await this.acquire();
    try {
      await migratePostgres(pool, component, migrations);
      return pool;
    } catch (error) {
      await this.release();
      throw error;
    }
  }

  async release(): Promise<void> {
    if (this.#users === 0 || --this.#users > 0) return;
    const opening = this.#pool;
    this.#pool = null;
    if (opening) await (await opening).end();
  }

  async #open(): Promise<Pool> {
    const pool = openPostgres(this.settings, this.#options);
    try {
      await createSchema(pool, this.settings.schema);
      // A pooler that drops the startup parameter would leave us writing to another schema: refuse.
      const current = (await pool.query<{ s: string | null }>("select current_schema() as s")).rows[0]?.s;
      if (current !== this.settings.schema) {
        throw new SluiceError(
          "CONFIG_INVALID",
          `PostgreSQL connections start in schema "${current ?? "(none)"}", not "${this.settings.schema}": the server or a pooler in between ignored the search_path startup option; connect directly or let the pooler pass "options"`,
          { details: { schema: this.settings.schema, current } },
        );
      }
      return pool;
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }
}

async function createSchema(pool: Pool, schema: string): Promise<void> {
  // Checked first: CREATE SCHEMA IF NOT EXISTS needs the CREATE privilege even when the schema exists.
  if ((await pool.query("select 1 from pg_namespace where nspname = $1", [schema])).rowCount) return;
  await inTransaction(pool, async (c) => {
    // Two processes creating it at once would otherwise collide on pg_namespace's unique index.
    await c.query("select pg_advisory_xact_lock(hashtext($1))", [`sluice:create-schema:${schema}`]);
    await c.query(`create schema if not exists ${schema}`);
  });
}
