import type Database from "better-sqlite3";
import { deserialize, serialize } from "node:v8";
import { SluiceError } from "../../contracts/errors.ts";
import {
  isTerminal,
  JOB_STATES,
  type DocState,
  type Job,
  type JobSpec,
  type JobState,
  type StageRecord,
} from "../../contracts/index.ts";
import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";
import { SharedSqlite } from "../../db/sqlite-migrations.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import { newJobId } from "../job-id.ts";
import {
  type GetJobOptions,
  type Ledger,
  type ListJobsOptions,
  pageLimit,
  pageOffset,
  type SourceCursor,
} from "../ledger.ts";
import { DOC_COLUMNS, type DocRow, toJobDocument } from "../document-row.ts";
import { LEDGER_MIGRATIONS } from "./schema.ts";

interface JobRow {
  id: string;
  seq: number;
  collection: string;
  pipeline: string;
  spec: string;
  state: JobState;
  sealed: number;
  current_stage: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

/**
 * Opens `ledger.db`: {@link openSqlite}, with incremental auto-vacuum so spool compaction can hand
 * freed pages back to the file system (it takes effect only on a new file, before any table).
 *
 * @example
 * const file = new SharedSqlite(join(dataDir, "ledger.db"), openLedgerDb);
 */
export function openLedgerDb(path: string): SqliteDatabase {
  const db = openSqlite(path);
  db.pragma("auto_vacuum = INCREMENTAL");
  return db;
}

/** Documents in these states still have work to do (or to wait for). */
const UNFINISHED = "('PENDING', 'PROCESSING', 'WAITING')";

const INTERRUPTED =
  "INTERRUPTED: the ingest process died before every document was accepted; the accepted ones are processed, run the ingest again for the rest";

/**
 * The embedded ledger in `ledger.db` (WAL, synchronous=FULL), a file it shares with the embedded
 * work queue, so that admitting documents, and recording a document's outcome with its
 * tombstone, are each one transaction.
 *
 * @example
 * const ledger = new SqliteLedger(join(dataDir, "ledger.db"));
 * await ledger.open();
 * const job = await ledger.createJob({ collection: "default", pipeline: "auto", paths: ["docs"] });
 */
export class SqliteLedger implements Ledger {
  readonly file: SharedSqlite;
  #db: SqliteDatabase | null = null;
  #statements: StatementCache | null = null;

  constructor(file: SharedSqlite | string) {
    this.file = typeof file === "string" ? new SharedSqlite(file, openLedgerDb) : file;
  }

  get db(): SqliteDatabase {
    if (!this.#db) throw new Error("SqliteLedger is not open; call open() first");
    return this.#db;
  }

  #stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    if (!this.#statements) throw new Error("SqliteLedger is not open; call open() first");
    return this.#statements.get<P, R>(sql);
  }

  async open(): Promise<void> {
    if (this.#db) return;
    const db = this.file.acquireMigrated("ledger", LEDGER_MIGRATIONS);
    this.#db = db;
    this.#statements = new StatementCache(db);
  }

  async close(): Promise<void> {
    if (!this.#db) return;
    this.#statements = null;
    this.#db = null;
    this.file.release();
  }

  #jobRow(jobId: string): JobRow {
    const row = this.#stmt<[string], JobRow>("select * from jobs where id = ?").get(jobId);
    if (!row) throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
    return row;
  }

  #toJob(row: JobRow): Job {
    const counts = this.#stmt<[string], { state: DocState; n: number }>(
      "select state, count(*) as n from job_documents where job_id = ? group by state",
    ).all(row.id);
    const by = (s: DocState) => counts.find((c) => c.state === s)?.n ?? 0;
    const version = (JSON.parse(row.spec) as { pipelineVersion?: unknown }).pipelineVersion;
    return {
      id: row.id,
      collection: row.collection,
      pipeline: row.pipeline,
      ...(typeof version === "string" ? { pipelineVersion: version } : {}),
      state: row.state,
      currentStage: row.current_stage,
      total: counts.reduce((a, c) => a + c.n, 0),
      done: by("COMPLETED"),
      failed: by("FAILED"),
      cancelled: by("CANCELLED"),
      waiting: by("WAITING"),
      error: row.error,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async createJob(spec: JobSpec, owner?: string): Promise<Job> {
    const id = newJobId();
    const now = new Date().toISOString();
    this.db
      .transaction(() => {
        const seq = (this.#stmt<[], { s: number | null }>("select max(seq) as s from jobs").get()?.s ?? 0) + 1;
        this.#stmt(
          "insert into jobs(id, seq, collection, pipeline, spec, state, created_by, created_at, updated_at) values (?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)",
        ).run(id, seq, spec.collection, spec.pipeline, JSON.stringify(spec), owner ?? null, now, now);
      })
      .immediate();
    return this.#toJob(this.#jobRow(id));
  }

  async sealJob(jobId: string, error?: string): Promise<Job> {
    this.db
      .transaction(() => {
        const now = new Date().toISOString();
        if (error)
          this.#stmt("update jobs set sealed = 1, state = 'FAILED', error = ?, updated_at = ? where id = ?").run(
            error,
            now,
            jobId,
          );
        else this.#stmt("update jobs set sealed = 1, updated_at = ? where id = ?").run(now, jobId);
      })
      .immediate();
    return (await this.finishIfDone(jobId)) ?? this.#toJob(this.#jobRow(jobId));
  }

  async getJob(jobId: string, options: GetJobOptions = {}): Promise<Job> {
    const job = this.#toJob(this.#jobRow(jobId));
    if (options.documents) {
      const stagesOf = this.#stmt<
        [string, string],
        {
          stage: string;
          state: StageRecord["state"];
          attempts: number;
          started_at: string | null;
          finished_at: string | null;
          error: string | null;
        }
      >(
        "select stage, state, attempts, started_at, finished_at, error from job_stages where job_id = ? and doc_id = ? order by started_at",
      );
      job.documents = this.#stmt<[string, number, number], DocRow>(
        `select ${DOC_COLUMNS} from job_documents where job_id = ? order by seq limit ? offset ?`,
      )
        .all(jobId, pageLimit(options.limit), pageOffset(options.offset))
        .map((d) =>
          toJobDocument(
            d,
            options.stages
              ? stagesOf.all(jobId, d.doc_id).map((r) => ({
                  stage: r.stage,
                  state: r.state,
                  attempts: r.attempts,
                  startedAt: r.started_at,
                  finishedAt: r.finished_at,
                  error: r.error,
                }))
              : undefined,
          ),
        );
    }
    return job;
  }

  async listJobs(options: ListJobsOptions = {}): Promise<Job[]> {
    const rows = this.#stmt<[number], JobRow>(
      "select * from (select * from jobs order by seq desc limit ?) order by seq",
    ).all(options.limit ?? 1000);
    return rows.map((r) => this.#toJob(r));
  }

  async jobState(jobId: string): Promise<JobState> {
    const row = this.#stmt<[string], { state: JobState }>("select state from jobs where id = ?").get(jobId);
    if (!row) throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
    return row.state;
  }

  async jobStates(jobIds: readonly string[]): Promise<Map<string, JobState>> {
    const states = new Map<string, JobState>();
    const one = this.#stmt<[string], { state: JobState }>("select state from jobs where id = ?");
    for (const id of jobIds) {
      const row = one.get(id);
      if (row) states.set(id, row.state);
    }
    return states;
  }

  async setCurrentStage(jobId: string, stage: string | null): Promise<void> {
    this.#stmt("update jobs set current_stage = ? where id = ? and state = 'PROCESSING'").run(stage, jobId);
  }

  async finishIdleJobs(isAlive: (owner: string) => boolean): Promise<Job[]> {
    const open = this.#stmt<[], { id: string; sealed: number; created_by: string | null }>(
      "select id, sealed, created_by from jobs where state in ('PENDING', 'PROCESSING')",
    ).all();
    const ended: Job[] = [];
    for (const job of open) {
      if (job.sealed) {
        const done = await this.finishIfDone(job.id);
        if (done) ended.push(done);
      } else if (job.created_by && !isAlive(job.created_by)) {
        ended.push(await this.sealJob(job.id, INTERRUPTED));
      }
    }
    return ended;
  }

  async pendingDocuments(collection: string): Promise<number> {
    return this.#stmt<[string], { n: number }>(
      `select count(*) as n from job_documents d join jobs j on j.id = d.job_id where j.collection = ? and j.state in ('PENDING', 'PROCESSING') and d.state in ${UNFINISHED}`,
    ).get(collection)!.n;
  }

  async admittingJobs(): Promise<number> {
    return this.#stmt<[], { n: number }>(
      "select count(*) as n from jobs where sealed = 0 and state in ('PENDING', 'PROCESSING')",
    ).get()!.n;
  }

  async countJobsByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of this.#stmt<[], { state: JobState; n: number }>(
      "select state, count(*) as n from jobs group by state",
    ).all())
      counts[row.state] = row.n;
    return counts;
  }

  async finishIfDone(jobId: string): Promise<Job | null> {
    const finished = this.db
      .transaction((): boolean => {
        const row = this.#jobRow(jobId);
        if (!row.sealed || isTerminal(row.state)) return false;
        const live = this.#stmt<[string], { n: number }>(
          `select count(*) as n from job_documents where job_id = ? and state in ${UNFINISHED}`,
        ).get(jobId)!.n;
        if (live > 0) return false;
        const job = this.#toJob(row);
        const state: JobState = job.total > 0 && job.failed === job.total ? "FAILED" : "COMPLETED";
        this.#stmt("update jobs set state = ?, error = ?, current_stage = null, updated_at = ? where id = ?").run(
          state,
          state === "FAILED" ? "every document failed" : null,
          new Date().toISOString(),
          jobId,
        );
        return true;
      })
      .immediate();
    return finished ? this.#toJob(this.#jobRow(jobId)) : null;
  }

  async cancelJob(jobId: string): Promise<Job> {
    this.db
      .transaction(() => {
        const row = this.#jobRow(jobId);
        if (isTerminal(row.state)) {
          throw new SluiceError(
            "JOB_STATE_CONFLICT",
            `job "${jobId}" is already ${row.state}; only PENDING or PROCESSING jobs can be cancelled`,
            { details: { jobId, state: row.state } },
          );
        }
        const now = new Date().toISOString();
        this.#stmt("update jobs set state = 'CANCELLED', current_stage = null, updated_at = ? where id = ?").run(
          now,
          jobId,
        );
        this.#stmt(
          `update job_documents set state = 'CANCELLED', updated_at = ? where job_id = ? and state in ${UNFINISHED}`,
        ).run(now, jobId);
      })
      .immediate();
    return this.#toJob(this.#jobRow(jobId));
  }

  async resumeJob(jobId: string): Promise<Job> {
    this.db
      .transaction(() => {
        const row = this.#jobRow(jobId);
        const job = this.#toJob(row);
        if (row.state === "COMPLETED" && job.failed === 0 && job.cancelled === 0) {
          throw new SluiceError(
            "JOB_STATE_CONFLICT",
            `job "${jobId}" completed with every document indexed; nothing to resume`,
            { details: { jobId } },
          );
        }
        if (!row.sealed && row.state === "FAILED") {
          throw new SluiceError(
            "JOB_STATE_CONFLICT",
            `job "${jobId}" failed before its documents were all accepted (${row.error ?? "unknown error"}); ingest them again`,
            { details: { jobId } },
          );
        }
        const now = new Date().toISOString();
        this.#stmt(
          "update job_documents set state = 'PENDING', error_code = null, error_message = null, updated_at = ? where job_id = ? and state in ('FAILED', 'CANCELLED')",
        ).run(now, jobId);
        if (isTerminal(row.state))
          this.#stmt("update jobs set state = 'PENDING', error = null, updated_at = ? where id = ?").run(now, jobId);
      })
      .immediate();
    return this.#toJob(this.#jobRow(jobId));
  }

  async reopenDocument(jobId: string, docId: string): Promise<void> {
    this.db
      .transaction(() => {
        const now = new Date().toISOString();
        this.#stmt(
          "update job_documents set state = 'PENDING', error_code = null, error_message = null, updated_at = ? where job_id = ? and doc_id = ?",
        ).run(now, jobId, docId);
        this.#stmt(
          "update jobs set state = 'PENDING', error = null, updated_at = ? where id = ? and state in ('COMPLETED', 'FAILED')",
        ).run(now, jobId);
      })
      .immediate();
  }

  async pruneJobs(endedBefore: number): Promise<number> {
    const cutoff = new Date(endedBefore).toISOString();
    return this.db
      .transaction((): number => {
        const ids = this.#stmt<[string], { id: string }>(
          "select id from jobs where state in ('COMPLETED', 'FAILED', 'CANCELLED') and updated_at < ?",
        ).all(cutoff);
        for (const { id } of ids) {
          this.#stmt("delete from job_stages where job_id = ?").run(id);
          this.#stmt("delete from checkpoints where job_id = ?").run(id);
          this.#stmt("delete from job_documents where job_id = ?").run(id);
          this.#stmt("delete from jobs where id = ?").run(id);
        }
        return ids.length;
      })
      .immediate();
  }

  async loadCheckpoint(jobId: string, docId: string, node: string): Promise<Record<string, unknown> | undefined> {
    const row = this.#stmt<[string, string, string], { data: Buffer }>(
      "select data from checkpoints where job_id = ? and doc_id = ? and node = ?",
    ).get(jobId, docId, node);
    return row ? (deserialize(row.data) as Record<string, unknown>) : undefined;
  }

  async saveCheckpoint(jobId: string, docId: string, node: string, output: Record<string, unknown>): Promise<void> {
    this.#stmt("insert or replace into checkpoints(job_id, doc_id, node, data) values (?, ?, ?, ?)").run(
      jobId,
      docId,
      node,
      serialize(output),
    );
  }

  async savePipelineSnapshot(version: string, yaml: string): Promise<void> {
    this.#stmt("insert or ignore into pipeline_snapshots(version, yaml, created_at) values (?, ?, ?)").run(
      version,
      yaml,
      new Date().toISOString(),
    );
  }

  async pipelineSnapshot(version: string): Promise<string | null> {
    const row = this.#stmt<[string], { yaml: string }>("select yaml from pipeline_snapshots where version = ?").get(
      version,
    );
    return row?.yaml ?? null;
  }

  async getSourceCursor(collection: string, source: string, queryKey: string): Promise<SourceCursor | null> {
    const row = this.#stmt<
      [string, string, string],
      { cursor: string | null; watermark: string | null; job_id: string | null; updated_at: string }
    >(
      "select cursor, watermark, job_id, updated_at from source_cursors where collection = ? and source = ? and query_key = ?",
    ).get(collection, source, queryKey);
    return row ? { cursor: row.cursor, watermark: row.watermark, jobId: row.job_id, updatedAt: row.updated_at } : null;
  }

  async saveSourceCursor(
    collection: string,
    source: string,
    queryKey: string,
    state: { cursor: string | null; watermark: string | null; jobId: string | null },
  ): Promise<void> {
    this.#stmt(
      `insert into source_cursors(collection, source, query_key, cursor, watermark, job_id, updated_at) values (?, ?, ?, ?, ?, ?, ?)
       on conflict (collection, source, query_key) do update set cursor = excluded.cursor, watermark = excluded.watermark, job_id = excluded.job_id, updated_at = excluded.updated_at`,
    ).run(collection, source, queryKey, state.cursor, state.watermark, state.jobId, new Date().toISOString());
  }
}
