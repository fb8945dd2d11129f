import type Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import { SluiceError } from "../../contracts/errors.ts";
import { isTerminal, JOB_STATES, type DocState, type Job, type JobDocument, type JobSpec, type JobState, type StageRecord } from "../../contracts/index.ts";
import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import type { Spool, SpoolRecord } from "../../spool/spool.ts";
import { SqliteSpool } from "../../spool/sqlite/sqlite-spool.ts";
import type { AdmittedDocument, DocumentUpdate, Ledger, ListJobsOptions } from "../ledger.ts";
import { LEDGER_SCHEMA } from "./schema.ts";

interface JobRow {
  id: string;
  seq: number;
  collection: string;
  pipeline: string;
  state: JobState;
  sealed: number;
  current_stage: string | null;
  error: string | null;
  created_at: string;
  updated_at: string;
}

interface DocRow {
  doc_id: string;
  source: string;
  state: DocState;
  current_stage: string | null;
  attempts: number;
  outcome: string | null;
  error_code: string | null;
  error_message: string | null;
}

/** Sortable, unique job ids: time first so listings and logs read in order. */
function newJobId(): string {
  return `job_${Date.now().toString(36).padStart(9, "0")}${randomBytes(5).toString("hex")}`;
}

/**
 * The embedded ledger and spool, in one SQLite file (WAL, synchronous=FULL): admitting documents,
 * and recording a document's outcome together with its tombstone, are each one transaction.
 *
 * @example
 * const ledger = new SqliteLedger(join(dataDir, "ledger.db"));
 * await ledger.open();
 * const job = await ledger.createJob({ collection: "default", pipeline: "auto", paths: ["docs"] });
 */
export class SqliteLedger implements Ledger {
  readonly path: string;
  #db: SqliteDatabase | null = null;
  #spool: SqliteSpool | null = null;
  #statements: StatementCache | null = null;

  constructor(path: string) {
    this.path = path;
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
    const db = openSqlite(this.path);
    // Compaction can hand freed pages back to the file system (only takes effect on a new file).
    db.pragma("auto_vacuum = INCREMENTAL");
    db.exec(LEDGER_SCHEMA);
    this.#db = db;
    this.#statements = new StatementCache(db);
    this.#spool = new SqliteSpool(db);
  }

  async close(): Promise<void> {
    this.#statements = null;
    this.#db?.close();
    this.#db = null;
    this.#spool = null;
  }

  spool(): Spool {
    if (!this.#spool) throw new Error("SqliteLedger is not open; call open() first");
    return this.#spool;
  }

  #jobRow(jobId: string): JobRow {
    const row = this.#stmt<[string], JobRow>("select * from jobs where id = ?").get(jobId);
    if (!row) throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
    return row;
  }

  #toJob(row: JobRow): Job {
    const counts = this.#stmt<[string], { state: DocState; n: number }>("select state, count(*) as n from job_documents where job_id = ? group by state").all(row.id);
    const by = (s: DocState) => counts.find((c) => c.state === s)?.n ?? 0;
    return {
      id: row.id,
      collection: row.collection,
      pipeline: row.pipeline,
      state: row.state,
      currentStage: row.current_stage,
      total: counts.reduce((a, c) => a + c.n, 0),
      done: by("COMPLETED"),
      failed: by("FAILED"),
      cancelled: by("CANCELLED"),
      error: row.error,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async createJob(spec: JobSpec, owner?: string): Promise<Job> {
    const id = newJobId();
    const now = new Date().toISOString();
    this.db.transaction(() => {
      const seq = (this.#stmt<[], { s: number | null }>("select max(seq) as s from jobs").get()?.s ?? 0) + 1;
      this.#stmt("insert into jobs(id, seq, collection, pipeline, spec, state, created_by, created_at, updated_at) values (?, ?, ?, ?, ?, 'PENDING', ?, ?, ?)").run(
        id,
        seq,
        spec.collection,
        spec.pipeline,
        JSON.stringify(spec),
        owner ?? null,
        now,
        now,
      );
    }).immediate();
    return this.#toJob(this.#jobRow(id));
  }

  async admit(jobId: string, documents: AdmittedDocument[]): Promise<void> {
    if (documents.length === 0) return;
    const now = new Date().toISOString();
    const insert = this.#stmt(
      `insert into job_documents(job_id, doc_id, seq, source, spool_seq, state, updated_at) values (?, ?, ?, ?, ?, 'PENDING', ?)
       on conflict(job_id, doc_id) do update set source = excluded.source, spool_seq = excluded.spool_seq, state = 'PENDING'`,
    );
    const retire = this.#stmt("update spool set state = 'DONE', envelope = null where seq = ? and state in ('PENDING', 'LEASED')");
    const previous = this.#stmt<[string, string], { spool_seq: number | null }>("select spool_seq from job_documents where job_id = ? and doc_id = ?");
    this.db.transaction(() => {
      this.#jobRow(jobId);
      const seqs = this.spool().append(documents.map((d) => ({ jobId, docId: d.ref.id, lane: d.lane, envelope: d.envelope })));
      documents.forEach((d, i) => {
        // A repeated id within one job (a BEIR file listing an _id twice) keeps the last version.
        const old = previous.get(jobId, d.ref.id)?.spool_seq;
        if (old != null) retire.run(old);
        insert.run(jobId, d.ref.id, seqs[i]!, d.ref.source, seqs[i]!, now);
      });
    }).immediate();
  }

  async sealJob(jobId: string, error?: string): Promise<Job> {
    this.db.transaction(() => {
      const now = new Date().toISOString();
      if (error) this.#stmt("update jobs set sealed = 1, state = 'FAILED', error = ?, updated_at = ? where id = ?").run(error, now, jobId);
      else this.#stmt("update jobs set sealed = 1, updated_at = ? where id = ?").run(now, jobId);
    }).immediate();
    return (await this.finishIfDone(jobId)) ?? this.#toJob(this.#jobRow(jobId));
  }

  async getJob(jobId: string, options: { documents?: boolean; stages?: boolean } = {}): Promise<Job> {
    const job = this.#toJob(this.#jobRow(jobId));
    if (options.documents) {
      const stagesOf = this.#stmt<[string, string], { stage: string; state: StageRecord["state"]; attempts: number; started_at: string | null; finished_at: string | null; error: string | null }>(
        "select stage, state, attempts, started_at, finished_at, error from job_stages where job_id = ? and doc_id = ? order by started_at",
      );
      job.documents = this.#stmt<[string], DocRow>("select doc_id, source, state, current_stage, attempts, outcome, error_code, error_message from job_documents where job_id = ? order by seq")
        .all(jobId)
        .map((d): JobDocument => ({
          docId: d.doc_id,
          source: d.source,
          state: d.state,
          currentStage: d.current_stage,
          attempts: d.attempts,
          outcome: d.outcome,
          error: d.error_code ? { code: d.error_code, message: d.error_message ?? "" } : null,
          ...(options.stages
            ? { stages: stagesOf.all(jobId, d.doc_id).map((s) => ({ stage: s.stage, state: s.state, attempts: s.attempts, startedAt: s.started_at, finishedAt: s.finished_at, error: s.error })) }
            : {}),
        }));
    }
    return job;
  }

  async listJobs(options: ListJobsOptions = {}): Promise<Job[]> {
    const rows = this.#stmt<[number], JobRow>("select * from (select * from jobs order by seq desc limit ?) order by seq").all(options.limit ?? 1000);
    return rows.map((r) => this.#toJob(r));
  }

  async jobState(jobId: string): Promise<JobState> {
    const row = this.#stmt<[string], { state: JobState }>("select state from jobs where id = ?").get(jobId);
    if (!row) throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
    return row.state;
  }

  async lease(owner: string, max: number, leaseMs: number, options: { jobId?: string } = {}): Promise<SpoolRecord[]> {
    const now = new Date().toISOString();
    const markDoc = this.#stmt("update job_documents set state = 'PROCESSING', updated_at = ? where job_id = ? and doc_id = ? and state in ('PENDING', 'PROCESSING')");
    const markJob = this.#stmt("update jobs set state = 'PROCESSING', updated_at = ? where id = ? and state = 'PENDING'");
    return this.db
      .transaction(() => {
        const records = this.spool().lease(owner, max, leaseMs, options.jobId ? { jobId: options.jobId } : {});
        const jobs = new Set<string>();
        for (const r of records) {
          markDoc.run(now, r.jobId, r.docId);
          jobs.add(r.jobId);
        }
        for (const j of jobs) markJob.run(now, j);
        return records;
      })
      .immediate();
  }

  async renewLeases(owner: string, seqs: readonly number[], leaseMs: number): Promise<void> {
    const renew = this.#stmt("update spool set lease_expires = ? where seq = ? and lease_owner = ? and state = 'LEASED'");
    const until = Date.now() + leaseMs;
    this.db.transaction(() => {
      for (const seq of seqs) renew.run(until, seq, owner);
    }).immediate();
  }

  async recordDocuments(jobId: string, updates: DocumentUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const now = new Date().toISOString();
    // Matched on the spool record, so a stale run of an older version writes nothing. A document
    // that finished while its job was being cancelled is recorded as what it is: indexed.
    const setDoc = this.#stmt(
      `update job_documents set state = ?, outcome = ?, error_code = ?, error_message = ?, current_stage = ?, attempts = attempts + 1, updated_at = ?
       where job_id = ? and doc_id = ? and spool_seq = ?`,
    );
    const setStage = this.#stmt(
      `insert into job_stages(job_id, doc_id, stage, state, attempts, started_at, finished_at, error) values (?, ?, ?, ?, ?, ?, ?, ?)
       on conflict(job_id, doc_id, stage) do update set state = excluded.state, attempts = excluded.attempts, started_at = excluded.started_at,
         finished_at = excluded.finished_at, error = excluded.error`,
    );
    const dropCheckpoints = this.#stmt("delete from checkpoints where job_id = ? and doc_id = ?");
    const spool = this.spool();
    this.db.transaction(() => {
      for (const u of updates) {
        const last = u.stages[u.stages.length - 1];
        setDoc.run(u.state, u.outcome ?? null, u.error?.code ?? null, u.error?.message ?? null, last?.stage ?? null, now, jobId, u.docId, u.seq);
        for (const s of u.stages) setStage.run(jobId, u.docId, s.stage, s.state, s.attempts, s.startedAt, s.finishedAt, s.error);
        if (u.state === "COMPLETED") {
          spool.tombstone([u.seq]);
          dropCheckpoints.run(jobId, u.docId);
        } else {
          spool.deadLetter(u.seq, u.error ? `${u.error.code}: ${u.error.message}` : "failed");
        }
      }
      this.#stmt("update jobs set updated_at = ? where id = ?").run(now, jobId);
    }).immediate();
  }

  async release(seq: number, error: string | null, notBeforeMs: number, options: { refund?: boolean } = {}): Promise<void> {
    this.spool().release(seq, error, notBeforeMs, options);
  }

  async setCurrentStage(jobId: string, stage: string | null): Promise<void> {
    this.#stmt("update jobs set current_stage = ? where id = ? and state = 'PROCESSING'").run(stage, jobId);
  }

  async finishIdleJobs(isAlive: (owner: string) => boolean): Promise<number> {
    const open = this.#stmt<[], { id: string; sealed: number; created_by: string | null }>(
      "select id, sealed, created_by from jobs where state in ('PENDING', 'PROCESSING')",
    ).all();
    let ended = 0;
    for (const job of open) {
      if (job.sealed) {
        if (await this.finishIfDone(job.id)) ended++;
      } else if (job.created_by && !isAlive(job.created_by)) {
        await this.sealJob(job.id, "INTERRUPTED: the ingest process died before every document was accepted; the accepted ones are processed, run the ingest again for the rest");
        ended++;
      }
    }
    return ended;
  }

  async admittingJobs(): Promise<number> {
    return this.#stmt<[], { n: number }>("select count(*) as n from jobs where sealed = 0 and state in ('PENDING', 'PROCESSING')").get()!.n;
  }

  async countJobsByState(): Promise<Record<JobState, number>> {
    const counts = Object.fromEntries(JOB_STATES.map((s) => [s, 0])) as Record<JobState, number>;
    for (const row of this.#stmt<[], { state: JobState; n: number }>("select state, count(*) as n from jobs group by state").all()) counts[row.state] = row.n;
    return counts;
  }

  async finishIfDone(jobId: string): Promise<Job | null> {
    const finished = this.db
      .transaction((): boolean => {
        const row = this.#jobRow(jobId);
        if (!row.sealed || isTerminal(row.state)) return false;
        const live = this.#stmt<[string], { n: number }>("select count(*) as n from spool where job_id = ? and state in ('PENDING', 'LEASED')").get(jobId)!.n;
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
          throw new SluiceError("JOB_STATE_CONFLICT", `job "${jobId}" is already ${row.state}; only PENDING or PROCESSING jobs can be cancelled`, { details: { jobId, state: row.state } });
        }
        const now = new Date().toISOString();
        this.#stmt("update jobs set state = 'CANCELLED', current_stage = null, updated_at = ? where id = ?").run(now, jobId);
        this.#stmt("update job_documents set state = 'CANCELLED', updated_at = ? where job_id = ? and state in ('PENDING', 'PROCESSING')").run(now, jobId);
        this.spool().cancelJob(jobId);
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
          throw new SluiceError("JOB_STATE_CONFLICT", `job "${jobId}" completed with every document indexed; nothing to resume`, { details: { jobId } });
        }
        if (!row.sealed && row.state === "FAILED") {
          throw new SluiceError("JOB_STATE_CONFLICT", `job "${jobId}" failed before its documents were all accepted (${row.error ?? "unknown error"}); ingest them again`, { details: { jobId } });
        }
        const now = new Date().toISOString();
        this.#stmt("update job_documents set state = 'PENDING', error_code = null, error_message = null, updated_at = ? where job_id = ? and state in ('FAILED', 'CANCELLED')").run(now, jobId);
        this.spool().requeueJob(jobId);
        if (isTerminal(row.state)) this.#stmt("update jobs set state = 'PENDING', error = null, updated_at = ? where id = ?").run(now, jobId);
      })
      .immediate();
    return this.#toJob(this.#jobRow(jobId));
  }

  async recover(isAlive: (owner: string) => boolean): Promise<number> {
    return this.spool().recover(isAlive);
  }

  async retryDeadLetter(seq: number): Promise<boolean> {
    return this.db.transaction((): boolean => {
      const rec = this.#stmt<[number], { job_id: string; doc_id: string }>("select job_id, doc_id from spool where seq = ? and state = 'DEAD'").get(seq);
      if (!rec || !this.spool().retryDeadLetter(seq)) return false;
      const now = new Date().toISOString();
      this.#stmt("update job_documents set state = 'PENDING', error_code = null, error_message = null, updated_at = ? where job_id = ? and doc_id = ?").run(now, rec.job_id, rec.doc_id);
      this.#stmt("update jobs set state = 'PENDING', error = null, updated_at = ? where id = ? and state in ('COMPLETED', 'FAILED')").run(now, rec.job_id);
      return true;
    }).immediate();
  }

  async dropDeadLetter(seq: number): Promise<boolean> {
    return this.spool().dropDeadLetter(seq);
  }

  async loadCheckpoint(jobId: string, docId: string, node: string): Promise<Record<string, unknown> | undefined> {
    const row = this.#stmt<[string, string, string], { data: Buffer }>("select data from checkpoints where job_id = ? and doc_id = ? and node = ?").get(jobId, docId, node);
    return row ? (deserialize(row.data) as Record<string, unknown>) : undefined;
  }

  async saveCheckpoint(jobId: string, docId: string, node: string, output: Record<string, unknown>): Promise<void> {
    this.#stmt("insert or replace into checkpoints(job_id, doc_id, node, data) values (?, ?, ?, ?)").run(jobId, docId, node, serialize(output));
  }
}
