import type { Pool } from "pg";
import { SluiceError } from "../../contracts/errors.ts";
import type { CopyCounts } from "./copy-index.ts";
import type { EmbeddedSource } from "./embedded-source.ts";

/** One column of a copied table: how its SQLite value becomes the PostgreSQL one. */
interface ColumnCopy {
  name: string;
  /** A cast on the parameter: `timestamptz` (ISO text), `jsonb` (JSON text). */
  cast?: string;
  /** SQLite 0/1 to a PostgreSQL boolean. */
  boolean?: boolean;
  /** The SQLite value when the source table lacks the column (a ledger.db from an older Sluice). */
  missing?: 0 | null;
}

/** One ledger or queue table: its columns, in both databases of the same name. */
interface TableCopy {
  table: string;
  columns: ColumnCopy[];
  /**
   * An identity column copied as it is (`overriding system value`; the sequence then moves past
   * it), and the columns that must match when the target holds a row with the same value.
   */
  identity?: { column: string; sameRowWhen: string[] };
}

const text = (name: string): ColumnCopy => ({ name });
const time = (name: string): ColumnCopy => ({ name, cast: "timestamptz" });

/**
 * The ledger's and the queue's tables, in an order that satisfies PostgreSQL's foreign keys
 * (documents after their jobs). Compared with `src/ledger/{sqlite,postgres}/schema.ts` and
 * `src/queue/{sqlite,postgres}/schema.ts`: times written as ISO text become `timestamptz`, the
 * job spec becomes `jsonb`, 0/1 flags become booleans, blobs become `bytea`; stage times stay
 * text in both. `collection_locks` is not copied: a lock belongs to a running process.
 */
const TABLES: readonly TableCopy[] = [
  { table: "pipeline_snapshots", columns: [text("version"), text("yaml"), time("created_at")] },
  {
    table: "jobs",
    identity: { column: "seq", sameRowWhen: ["id"] },
    columns: [
      text("id"),
      text("seq"),
      text("collection"),
      text("pipeline"),
      { name: "spec", cast: "jsonb" },
      text("state"),
      { name: "sealed", boolean: true },
      text("created_by"),
      text("current_stage"),
      text("error"),
      time("created_at"),
      time("updated_at"),
    ],
  },
  {
    table: "job_documents",
    columns: [
      text("job_id"),
      text("doc_id"),
      text("seq"),
      text("source"),
      text("spool_seq"),
      text("state"),
      text("current_stage"),
      text("attempts"),
      text("outcome"),
      text("error_code"),
      text("error_message"),
      time("updated_at"),
    ],
  },
  {
    table: "job_stages",
    columns: ["job_id", "doc_id", "stage", "state", "attempts", "started_at", "finished_at", "error"].map(text),
  },
  { table: "checkpoints", columns: ["job_id", "doc_id", "node", "data"].map(text) },
  {
    table: "source_cursors",
    columns: [...["collection", "source", "query_key", "cursor", "watermark", "job_id"].map(text), time("updated_at")],
  },
  {
    // The spool holds only finished records here (a live one stops the migration first): done,
    // dead and cancelled ones, so `sluice spool dlq retry` and `sluice jobs resume` keep working.
    table: "spool",
    identity: { column: "seq", sameRowWhen: ["job_id", "doc_id"] },
    columns: [
      text("seq"),
      text("job_id"),
      text("doc_id"),
      text("lane"),
      text("state"),
      text("envelope"),
      text("bytes"),
      text("attempts"),
      { name: "crashes", missing: 0 },
      { name: "suspect", boolean: true, missing: 0 },
      { name: "solo", boolean: true, missing: 0 },
      text("lease_owner"),
      text("lease_expires"),
      text("not_before"),
      { name: "wait_for", missing: null },
      text("last_error"),
      text("created_ms"),
    ],
  },
];

const BATCH = 500;

/** Refuses a batch whose identity values the target already uses for other rows (another Sluice's). */
async function assertNoForeignRows(pool: Pool, spec: TableCopy, rows: Array<Record<string, unknown>>): Promise<void> {
  const { identity } = spec;
  if (!identity || rows.length === 0) return;
  const existing = await pool.query<Record<string, unknown>>(
    `select ${[identity.column, ...identity.sameRowWhen].join(", ")} from ${spec.table} where ${identity.column} = any($1::bigint[])`,
    [rows.map((r) => r[identity.column])],
  );
  const mine = new Map(rows.map((r) => [String(r[identity.column]), r]));
  for (const t of existing.rows) {
    const s = mine.get(String(t[identity.column]))!;
    if (identity.sameRowWhen.some((c) => String(t[c]) !== String(s[c])))
      throw new SluiceError(
        "JOB_STATE_CONFLICT",
        `the PostgreSQL schema already holds ${spec.table} of another Sluice (${identity.column} ${String(t[identity.column])} is ${identity.sameRowWhen.map((c) => `${c} ${String(t[c])}`).join(", ")} there, not ${identity.sameRowWhen.map((c) => String(s[c])).join(", ")}): migrate into a schema of its own (--schema)`,
        { details: { table: spec.table } },
      );
  }
}

/**
 * Throws JOB_STATE_CONFLICT when the PostgreSQL schema holds jobs or spool records under numbers
 * the embedded ledger uses for others (the schema is another Sluice's): checked before anything is
 * copied, so a refused migration copies nothing. Rows of an earlier run of the same migration
 * match, and pass.
 *
 * @example
 * await assertJobRecordsFit(source, target.pool);
 */
export async function assertJobRecordsFit(source: EmbeddedSource, pool: Pool): Promise<void> {
  for (const spec of TABLES) {
    if (!spec.identity || !source.ledgerColumns(spec.table)) continue;
    const columns = [spec.identity.column, ...spec.identity.sameRowWhen].join(", ");
    let batch: Array<Record<string, unknown>> = [];
    for (const row of source
      .ledger!.prepare<[], Record<string, unknown>>(`select ${columns} from ${spec.table}`)
      .iterate()) {
      batch.push(row);
      if (batch.length === 5000) {
        await assertNoForeignRows(pool, spec, batch);
        batch = [];
      }
    }
    await assertNoForeignRows(pool, spec, batch);
  }
}

/** Inserts a batch with `on conflict do nothing`; answers how many rows were new. */
async function insertBatch(pool: Pool, spec: TableCopy, rows: Array<Record<string, unknown>>): Promise<number> {
  const names = spec.columns.map((c) => c.name);
  const params: unknown[] = [];
  const tuples = rows.map((row) => {
    const placeholders = spec.columns.map((c) => {
      const raw = row[c.name];
      params.push(c.boolean && raw !== null && raw !== undefined ? Boolean(raw) : raw);
      return c.cast ? `$${params.length}::${c.cast}` : `$${params.length}`;
    });
    return `(${placeholders.join(", ")})`;
  });
  const overriding = spec.identity ? " overriding system value" : "";
  const result = await pool.query(
    `insert into ${spec.table}(${names.join(", ")})${overriding} values ${tuples.join(", ")} on conflict do nothing`,
    params,
  );
  return result.rowCount ?? 0;
}

/**
 * Copies every ledger and queue table of the embedded `ledger.db` into the PostgreSQL schema,
 * table by table in batches, each `insert … on conflict do nothing`: rows the target holds already
 * (an earlier, interrupted run) are skipped. Copied identity values (job and spool sequence
 * numbers) keep their numbers, and the sequences move past them; {@link assertJobRecordsFit} checks
 * first that those numbers are free.
 *
 * @example
 * const counts = await copyJobRecords(source, target.pool); // { jobs: { copied: 3, skipped: 0 }, … }
 */
export async function copyJobRecords(
  source: EmbeddedSource,
  pool: Pool,
  onTable?: (table: string, rows: number) => void,
): Promise<Record<string, CopyCounts>> {
  const report: Record<string, CopyCounts> = {};
  for (const spec of TABLES) {
    const present = source.ledgerColumns(spec.table);
    if (!present) continue;
    const counts: CopyCounts = { copied: 0, skipped: 0 };
    report[spec.table] = counts;
    const select = spec.columns
      .map((c) => (present.has(c.name) ? c.name : `${c.missing ?? "null"} as ${c.name}`))
      .join(", ");
    const order = spec.identity ? ` order by ${spec.identity.column}` : "";
    const rows = source.ledger!.prepare<[], Record<string, unknown>>(`select ${select} from ${spec.table}${order}`);
    let batch: Array<Record<string, unknown>> = [];
    const flush = async () => {
      if (batch.length === 0) return;
      const inserted = await insertBatch(pool, spec, batch);
      counts.copied += inserted;
      counts.skipped += batch.length - inserted;
      batch = [];
    };
    // Iterated, not loaded: job_stages holds a row per document and stage. The ledger connection
    // reads nothing else meanwhile.
    for (const row of rows.iterate()) {
      batch.push(row);
      if (batch.length === BATCH) await flush();
    }
    await flush();
    if (spec.identity) {
      const { column } = spec.identity;
      await pool.query(
        `select setval(pg_get_serial_sequence('${spec.table}', '${column}'), (select coalesce(max(${column}), 0) + 1 from ${spec.table}), false)`,
      );
    }
    onTable?.(spec.table, counts.copied + counts.skipped);
  }
  return report;
}
