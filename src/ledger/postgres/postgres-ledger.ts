import type { Pool, PoolClient, QueryResult, QueryResultRow } from "pg";
import { deserialize, serialize } from "node:v8";
import { isSluiceError, SluiceError } from "../../contracts/errors.ts";
import {
  isTerminal,
  JOB_STATES,
  type Job,
  type JobSpec,
  type JobState,
  type StageRecord,
} from "../../contracts/index.ts";
import { inTransaction, SharedPostgres, type PostgresSettings } from "../../db/postgres/open-postgres.ts";
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

interface Queryable {
  query<R extends QueryResultRow>(text: string, values?: unknown[]): Promise<QueryResult<R>>;
}

interface JobRow {
  id: string;
  collection: string;
  pipeline: string;
  pipeline_version: string | null;
  state: JobState;
  sealed: boolean;
  created_by: string | null;
  current_stage: string | null;
  error: string | null;
  created_at: Date;
  updated_at: Date;
  total: number;
  done: number;
  failed: number;
  cancelled: number;
  waiting: number;
}

interface StageRow {
  doc_id: string;
  stage: string;
  state: StageRecord["state"];
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

/** A job with its document counts, in one read. */
const JOB_SELECT = `
select j.id, j.seq, j.collection, j.pipeline, j.spec->>'pipelineVersion' as pipeline_version, j.state, j.sealed, j.created_by, j.current_stage, j.error, j.created_at, j.updated_at, c.*
from jobs j cross join lateral (
  select count(*)::int as total,
         count(*) filter (where d.state = 'COMPLETED')::int as done,
         count(*) filter (where d.state = 'FAILED')::int as failed,
         count(*) filter (where d.state = 'CANCELLED')::int as cancelled,
         count(*) filter (where d.state = 'WAITING')::int as waiting
  from job_documents d where d.job_id = j.id
) c`;

/** Documents in these states still have work to do (or to wait for). */
const UNFINISHED = "('PENDING', 'PROCESSING', 'WAITING')";
const ENDED = "('COMPLETED', 'FAILED', 'CANCELLED')";

const INTERRUPTED =
  "INTERRUPTED: the ingest process died before every document was accepted; the accepted ones are processed, run the ingest again for the rest";

/**
 * Sets a job's documents in `states` to `set`. Rows are locked in key order first: every writer
 * here and in the work queue takes row locks in one order (spool records by seq, then document
 * records by key, then jobs by id), so concurrent writers wait for each other but never deadlock.
 */
const updateDocs = (set: string, states: string) => `
update job_documents d set ${set}, updated_at = now()
from (select job_id, doc_id from job_documents where job_id = $1 and state in ${states} order by doc_id for no key update) l
where d.job_id = l.job_id and d.doc_id = l.doc_id`;

const notFound = (jobId: string) =>
  new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });

const toJob = (row: JobRow): Job => ({
  id: row.id,
  collection: row.collection,
  pipeline: row.pipeline,
  ...(row.pipeline_version !== null ? { pipelineVersion: row.pipeline_version } : {}),
  state: row.state,
  currentStage: row.current_stage,
  total: row.total,
  done: row.done,
  failed: row.failed,
  cancelled: row.cancelled,
  waiting: row.waiting,
  error: row.error,
  createdAt: row.created_at.toISOString(),
  updatedAt: row.updated_at.toISOString(),
});

/**
 * The ledger in PostgreSQL, beside the work queue's spool in the same schema, so admitting a
 * document, leasing it and recording its outcome each update its document record in the queue's
 * transaction. Any number of processes on any number of machines may share it.
 *
 * @example
 * const ledger = new PostgresLedger({ url: "postgres://sluice@db:5432/sluice", schema: "sluice" });
 * await ledger.open();
 * const job = await ledger.createJob({ collection: "default", pipeline: "auto", paths: ["docs"] });
 */
export class PostgresLedger implements Ledger {
  readonly db: SharedPostgres;
  #pool: Pool | null = null;

  constructor(db: SharedPostgres | PostgresSettings) {
    this.db = db instanceof SharedPostgres ? db : new SharedPostgres(db);
  }

  async open(): Promise<void> {
    this.#pool ??= await this.db.acquireMigrated("ledger", LEDGER_MIGRATIONS);
  }

  async close(): Promise<void> {
    if (!this.#pool) return;
    this.#pool = null;
    await this.db.release();
  }

  get #conn(): Pool {
    if (!this.#pool) throw new Error("PostgresLedger is not open; call open() first");
    return this.#pool;
  }

  #tx<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#conn, fn);
  }

  async #job(jobId: string, db: Queryable = this.#conn): Promise<JobRow> {
    const row = (await db.query<JobRow>(`${JOB_SELECT} where j.id = $1`, [jobId])).rows[0];
    if (!row) throw notFound(jobId);
    return row;
  }

  async createJob(spec: JobSpec, owner?: string): Promise<Job> {
    const { rows } = await this.#conn.query<JobRow>(
      `insert into jobs(id, collection, pipeline, spec, state, created_by) values ($1, $2, $3, $4::jsonb, 'PENDING', $5)
       returning *, spec->>'pipelineVersion' as pipeline_version, 0 as total, 0 as done, 0 as failed, 0 as cancelled, 0 as waiting`,
      [newJobId(), spec.collection, spec.pipeline, JSON.stringify(spec), owner ?? null],
    );
    return toJob(rows[0]!);
  }

  async sealJob(jobId: string, error?: string): Promise<Job> {
    const sealed = error
      ? await this.#conn.query(
          "update jobs set sealed = true, state = 'FAILED', error = $2, updated_at = now() where id = $1",
          [jobId, error],
        )
      : await this.#conn.query("update jobs set sealed = true, updated_at = now() where id = $1", [jobId]);
    if (!sealed.rowCount) throw notFound(jobId);
    return (await this.finishIfDone(jobId)) ?? toJob(await this.#job(jobId));
  }

  async getJob(jobId: string, options: GetJobOptions = {}): Promise<Job> {
    const job = toJob(await this.#job(jobId));
    if (!options.documents) return job;
    const docs = await this.#conn.query<DocRow>(
      `select ${DOC_COLUMNS} from job_documents where job_id = $1 order by seq limit $2 offset $3`,
      [jobId, pageLimit(options.limit), pageOffset(options.offset)],
    );
    const stages = new Map<string, StageRecord[]>();
    if (options.stages) {
      const rows = await this.#conn.query<StageRow>(
        "select doc_id, stage, state, attempts, started_at, finished_at, error from job_stages where job_id = $1 order by doc_id, started_at nulls first, stage",
        [jobId],
      );
      for (const s of rows.rows) {
        const list = stages.get(s.doc_id) ?? [];
        list.push({
          stage: s.stage,
          state: s.state,
          attempts: s.attempts,
          startedAt: s.started_at,
          finishedAt: s.finished_at,
          error: s.error,
        });
        stages.set(s.doc_id, list);
      }
    }
    job.documents = docs.rows.map((d) => toJobDocument(d, options.stages ? (stages.get(d.doc_id) ?? []) : undefined));
    return job;
  }

  async listJobs(options: ListJobsOptions = {}): Promise<Job[]> {
    const { rows } = await this.#conn.query<JobRow>(
      `select * from (${JOB_SELECT} order by j.seq desc limit $1) recent order by seq`,
      [Math.max(0, Math.floor(options.limit ?? 1000))],
    );
    return rows.map(toJob);
  }

  async jobState(jobId: string): Promise<JobState> {
    const row = (await this.#conn.query<{ state: JobState }>("select state from jobs where id = $1", [jobId])).rows[0];
    if (!row) throw notFound(jobId);
    return row.state;
  }

  async jobStates(jobIds: readonly string[]): Promise<Map<string, JobState>> {
    if (jobIds.length === 0) return new Map();
    const { rows } = await this.#conn.query<{ id: string; state: JobState }>(
      "select id, state from jobs where id = any($1::text[])",
      [jobIds],
    );
    return new Map(rows.map((r) => [r.id, r.state]));
  }

  async setCurrentStage(jobId: string, stage: string | null): Promise<void> {
    await this.#conn.query("update jobs set current_stage = $2 where id = $1 and state = 'PROCESSING'", [jobId, stage]);
  }

  async finishIfDone(jobId: string): Promise<Job | null> {
    return this.#tx(async (c) => {
      // The job's row lock makes concurrent callers (each worker finishing a document) take turns.
      const job = (
        await c.query<{ state: JobState; sealed: boolean }>(
          "select state, sealed from jobs where id = $1 for no key update",
          [jobId],
        )
      ).rows[0];
      if (!job) throw notFound(jobId);
      if (!job.sealed || isTerminal(job.state)) return null;
      const docs = (
        await c.query<{ live: number; total: number; failed: number }>(
          `select count(*) filter (where state in ${UNFINISHED})::int as live, count(*)::int as total, count(*) filter (where state = 'FAILED')::int as failed
           from job_documents where job_id = $1`,
          [jobId],
        )
      ).rows[0]!;
      if (docs.live > 0) return null;
      const failed = docs.total > 0 && docs.failed === docs.total;
      await c.query("update jobs set state = $2, error = $3, current_stage = null, updated_at = now() where id = $1", [
        jobId,
        failed ? "FAILED" : "COMPLETED",
        failed ? "every document failed" : null,
      ]);
      return toJob(await this.#job(jobId, c));
    });
  }

  async finishIdleJobs(isAlive: (owner: string) => boolean): Promise<Job[]> {
    const { rows } = await this.#conn.query<{ id: string; sealed: boolean; created_by: string | null }>(
      "select id, sealed, created_by from jobs where state in ('PENDING', 'PROCESSING') order by seq",
    );
    const ended: Job[] = [];
    for (const job of rows) {
      try {
        if (job.sealed) {
          const done = await this.finishIfDone(job.id);
          if (done) ended.push(done);
        } else if (job.created_by && !isAlive(job.created_by)) {
          ended.push(await this.sealJob(job.id, INTERRUPTED));
        }
      } catch (error) {
        // Another process ended and pruned it since the listing: nothing left to do for it.
        if (!(isSluiceError(error) && error.code === "JOB_NOT_FOUND")) throw error;
      }
    }
    return ended;
  }

  async pendingDocuments(collection: string): Promise<number> {
    const { rows } = await this.#conn.query<{ n: number }>(
      `select count(*)::int as n from job_documents d join jobs j on j.id = d.job_id
       where j.collection = $1 and j.state in ('PENDING', 'PROCESSING') and d.state in ('PENDING', 'PROCESSING', 'WAITING')`,
      [collection],
    );
    return rows[0]!.n;
  }

  async admittingJobs(): Promise<number> {
    return (
      await this.#conn.query<{ n: number }>(
        "select count(*)::int as n from jobs where not sealed and state in ('PENDING', 'PROCESSING')",
      )
    ).rows[0]!.n;
  }

  async countJobsByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    const { rows } = await this.#conn.query<{ state: JobState; n: number }>(
      "select state, count(*)::int as n from jobs group by state",
    );
    for (const row of rows) counts[row.state] = row.n;
    return counts;
  }

  async cancelJob(jobId: string): Promise<Job> {
    return this.#tx(async (c) => {
      const state = (await c.query<{ state: JobState }>("select state from jobs where id = $1", [jobId])).rows[0]
        ?.state;
      if (!state) throw notFound(jobId);
      const conflict = (s: JobState) =>
        new SluiceError(
          "JOB_STATE_CONFLICT",
          `job "${jobId}" is already ${s}; only PENDING or PROCESSING jobs can be cancelled`,
          { details: { jobId, state: s } },
        );
      if (isTerminal(state)) throw conflict(state);
      await c.query(updateDocs("state = 'CANCELLED'", UNFINISHED), [jobId]);
      const cancelled = await c.query(
        "update jobs set state = 'CANCELLED', current_stage = null, updated_at = now() where id = $1 and state in ('PENDING', 'PROCESSING')",
        [jobId],
      );
      // It ended meanwhile: the rollback puts its documents back as they were.
      if (!cancelled.rowCount) throw conflict((await this.#job(jobId, c)).state);
      return toJob(await this.#job(jobId, c));
    });
  }

  async resumeJob(jobId: string): Promise<Job> {
    return this.#tx(async (c) => {
      const row = await this.#job(jobId, c);
      if (row.state === "COMPLETED" && row.failed === 0 && row.cancelled === 0) {
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
      await c.query(
        updateDocs("state = 'PENDING', error_code = null, error_message = null", "('FAILED', 'CANCELLED')"),
        [jobId],
      );
      await c.query(
        `update jobs set state = 'PENDING', error = null, updated_at = now() where id = $1 and state in ${ENDED}`,
        [jobId],
      );
      return toJob(await this.#job(jobId, c));
    });
  }

  async reopenDocument(jobId: string, docId: string): Promise<void> {
    await this.#tx(async (c) => {
      await c.query(
        "update job_documents set state = 'PENDING', error_code = null, error_message = null, updated_at = now() where job_id = $1 and doc_id = $2",
        [jobId, docId],
      );
      await c.query(
        "update jobs set state = 'PENDING', error = null, updated_at = now() where id = $1 and state in ('COMPLETED', 'FAILED')",
        [jobId],
      );
    });
  }

  async pruneJobs(endedBefore: number): Promise<number> {
    return this.#tx(async (c) => {
      // Jobs first (this once breaks the documents-before-jobs order): locked, they cannot be
      // resumed while their records go. Only a worker writing to a job that ended a retention
      // period ago could collide, and a deadlock there is retried by inTransaction.
      const { rows } = await c.query<{ id: string }>(
        `select id from jobs where state in ${ENDED} and updated_at < $1 order by id for update`,
        [new Date(endedBefore)],
      );
      if (rows.length === 0) return 0;
      const ids = rows.map((r) => r.id);
      await c.query("delete from job_stages where job_id = any($1::text[])", [ids]);
      await c.query("delete from checkpoints where job_id = any($1::text[])", [ids]);
      await c.query("delete from job_documents where job_id = any($1::text[])", [ids]);
      return (await c.query("delete from jobs where id = any($1::text[])", [ids])).rowCount ?? 0;
    });
  }

  async loadCheckpoint(jobId: string, docId: string, node: string): Promise<Record<string, unknown> | undefined> {
    const row = (
      await this.#conn.query<{ data: Buffer }>(
        "select data from checkpoints where job_id = $1 and doc_id = $2 and node = $3",
        [jobId, docId, node],
      )
    ).rows[0];
    return row ? (deserialize(row.data) as Record<string, unknown>) : undefined;
  }

  async saveCheckpoint(jobId: string, docId: string, node: string, output: Record<string, unknown>): Promise<void> {
    await this.#conn.query(
      "insert into checkpoints(job_id, doc_id, node, data) values ($1, $2, $3, $4) on conflict (job_id, doc_id, node) do update set data = excluded.data",
      [jobId, docId, node, serialize(output)],
    );
  }

  async savePipelineSnapshot(version: string, yaml: string): Promise<void> {
    await this.#conn.query(
      "insert into pipeline_snapshots(version, yaml) values ($1, $2) on conflict (version) do nothing",
      [version, yaml],
    );
  }

  async pipelineSnapshot(version: string): Promise<string | null> {
    const row = (
      await this.#conn.query<{ yaml: string }>("select yaml from pipeline_snapshots where version = $1", [version])
    ).rows[0];
    return row?.yaml ?? null;
  }

  async getSourceCursor(collection: string, source: string, queryKey: string): Promise<SourceCursor | null> {
    const row = (
      await this.#conn.query<{
        cursor: string | null;
        watermark: string | null;
        job_id: string | null;
        updated_at: Date;
      }>(
        "select cursor, watermark, job_id, updated_at from source_cursors where collection = $1 and source = $2 and query_key = $3",
        [collection, source, queryKey],
      )
    ).rows[0];
    return row
      ? { cursor: row.cursor, watermark: row.watermark, jobId: row.job_id, updatedAt: row.updated_at.toISOString() }
      : null;
  }

  async saveSourceCursor(
    collection: string,
    source: string,
    queryKey: string,
    state: { cursor: string | null; watermark: string | null; jobId: string | null },
  ): Promise<void> {
    await this.#conn.query(
      `insert into source_cursors(collection, source, query_key, cursor, watermark, job_id) values ($1, $2, $3, $4, $5, $6)
       on conflict (collection, source, query_key) do update set cursor = excluded.cursor, watermark = excluded.watermark, job_id = excluded.job_id, updated_at = now()`,
      [collection, source, queryKey, state.cursor, state.watermark, state.jobId],
    );
  }
}
