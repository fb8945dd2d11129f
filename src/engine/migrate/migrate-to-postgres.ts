import { resolve } from "node:path";
import { redactUrl } from "../../config/redact.ts";
import type { HnswSettings } from "../../store/postgres/postgres-index-store.ts";
import { type CollectionCopyReport, copyCollection, type CopyCounts } from "./copy-index.ts";
import { assertJobRecordsFit, copyJobRecords } from "./copy-job-records.ts";
import { EmbeddedSource } from "./embedded-source.ts";
import { assertPostgresUrl, openPostgresTarget } from "./postgres-target.ts";
import { verifyMigration, type VerificationReport } from "./verify-migration.ts";

/** What `migrateToPostgres` copies from and to. */
export interface MigrateOptions {
  /** The embedded data folder (`index.db`, `ledger.db`); only ever read. */
  dataDir: string;
  /** `postgres://user[:password]@host:port/db`. */
  url: string;
  /** The schema to copy into (`postgres.schema`; created when missing). */
  schema: string;
  /** HNSW build settings of the vector indexes the copy creates (`postgres.hnsw`). */
  hnsw?: Partial<HnswSettings>;
  /** Chunks per collection whose text and vector are compared at the end (default 100). */
  sample?: number;
  /** Documents written at once (default 4). */
  concurrency?: number;
  onProgress?: (event: MigrateProgress) => void;
}

/** What the migration is doing, for a progress display. */
export type MigrateProgress =
  | { kind: "collection"; collection: string; documents: number }
  | { kind: "document"; collection: string; done: number; total: number; skipped: number }
  | { kind: "collection-done"; collection: string }
  | { kind: "jobs"; table: string; rows: number }
  | { kind: "verify" };

/** What a migration did and what its verification found. */
export interface MigrationReport {
  dataDir: string;
  /** The target URL with its password hidden. */
  target: string;
  schema: string;
  collections: CollectionCopyReport[];
  /** Per ledger or queue table: rows copied, and rows the target held already. */
  jobRecords: Record<string, CopyCounts>;
  verification: VerificationReport;
}

/**
 * Copies an embedded data folder into PostgreSQL: every collection, document, chunk, dense
 * vector and sparse weight of `index.db` (lexical terms re-derived from the chunk text, as the
 * index stage does), then every job record and finished spool record of `ledger.db`, and verifies
 * the copy. The folder is opened read-only. Resumable: documents the target holds with the same
 * content hash, and job rows it holds already, are skipped, so running it again after an
 * interruption copies the rest, and running it on a finished copy only verifies it.
 *
 * Refuses (JOB_STATE_CONFLICT), before copying anything, while the embedded spool still holds
 * unfinished documents or when the schema holds another Sluice's jobs; a verification difference
 * does not throw: `report.verification.ok` is false and `mismatches`
 * names each one.
 *
 * @example
 * const report = await migrateToPostgres({ dataDir: ".sluice", url: "postgres://sluice@db:5432/sluice", schema: "sluice" });
 * if (!report.verification.ok) throw new Error(report.verification.mismatches.join("; "));
 */
export async function migrateToPostgres(options: MigrateOptions): Promise<MigrationReport> {
  assertPostgresUrl(options.url);
  const dataDir = resolve(options.dataDir);
  const progress = options.onProgress ?? (() => undefined);
  const concurrency = options.concurrency ?? 4;
  const source = EmbeddedSource.open(dataDir);
  try {
    source.assertSpoolDrained();
    const target = await openPostgresTarget(
      { url: options.url, schema: options.schema },
      { ...(options.hnsw ? { hnsw: options.hnsw } : {}), connections: concurrency + 1 },
    );
    try {
      await assertJobRecordsFit(source, target.pool);
      const collections: CollectionCopyReport[] = [];
      for (const collection of source.collections()) {
        progress({ kind: "collection", collection: collection.name, documents: collection.documents });
        collections.push(
          await copyCollection(source, target.index, collection, {
            concurrency,
            onDocument: (p) => progress({ kind: "document", ...p }),
          }),
        );
        progress({ kind: "collection-done", collection: collection.name });
      }
      const jobRecords = await copyJobRecords(source, target.pool, (table, rows) =>
        progress({ kind: "jobs", table, rows }),
      );
      progress({ kind: "verify" });
      const verification = await verifyMigration(source, target.index, target.pool, options.sample ?? 100);
      return {
        dataDir,
        target: redactUrl(options.url),
        schema: options.schema,
        collections,
        jobRecords,
        verification,
      };
    } finally {
      await target.close();
    }
  } finally {
    source.close();
  }
}
