import { randomBytes } from "node:crypto";
import { deserialize, serialize } from "node:v8";
import { SluiceError } from "../../contracts/errors.ts";
import { isTerminal, type DocState, type DocumentRef, type Job, type JobDocument, type JobSpec, type JobState, type StageRecord } from "../../contracts/index.ts";
import { openSqlite, type SqliteDatabase } from "../../db/open-sqlite.ts";
import type { DocumentUpdate, Ledger, ListJobsOptions, PendingDocument } from "../ledger.ts";
import { LEDGER_SCHEMA } from "./schema.ts";

interface JobRow {
  id: string;
  seq: number;
  collection: string;
  pipeline: string;
  state: JobState;
  current_stage: string | null;
  error: string | null;
  lease_owner: string | null;
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

const INSERT_BATCH = 1000;

/** Sortable, unique job ids: time first so `ls` and logs read in order. */
function newJobId(): string {
  return `job_${Date.now().toString(36).padStart(9, "0")}${randomBytes(5).toString("hex")}`;
}

/**
 * The embedded ledger, in its own SQLite file (WAL, synchronous=FULL). Each state change is one
 * transaction; a worker's lease on a job expires so that a crashed worker's job is picked up.
 *
 * @example
 * const ledger = new SqliteLedger(join(dataDir, "ledger.db"));
 * await ledger.open();
 * const job = await ledger.createJob({ collection: "default", pipeline: "auto", paths: ["docs"] }, refs);
 */
export class SqliteLedger implements Ledger {
  readonly path: string;
  #db: SqliteDatabase | null = null;

  constructor(path: string) {
    this.path = path;
  }

  get db(): SqliteDatabase {
    if (!this.#db) throw new Error("SqliteLedger is not open; call open() first");
    return this.#db;
  }

  async open(): Promise<void> {
    if (this.#db) return;
    const db = openSqlite(this.path);
    db.exec(LEDGER_SCHEMA);
    this.#db = db;
  }

  async close(): Promise<void> {
    this.#db?.close();
    this.#db = null;
  }

  #jobRow(jobId: string): JobRow {
    const row = this.db.prepare<[string], JobRow>("select * from jobs where id = ?").get(jobId);
    if (!row) throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
    return row;
  }

  #toJob(row: JobRow): Job {
    const counts = this.db.prepare<[string], { state: DocState; n: number }>("select state, count(*) as n from job_documents where job_id = ? group by state").all(row.id);
    const by = (s: DocState) => counts.find((c) => c.state === s)?.n ?? 0;
    const total = counts.reduce((a, c) => a + c.n, 0);
    return {
      id: row.id,
      collection: row.collection,
      pipeline: row.pipeline,
      state: row.state,
      currentStage: row.current_stage,
      total,
      done: by("COMPLETED"),
      failed: by("FAILED"),
      cancelled: by("CANCELLED"),
      error: row.error,
      owner: row.state === "PROCESSING" ? row.lease_owner : null,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }

  async createJob(spec: JobSpec, documents: AsyncIterable<DocumentRef> | Iterable<DocumentRef>): Promise<Job> {
    const id = newJobId();
    const now = new Date().toISOString();
    const seq = (this.db.prepare<[], { s: number | null }>("select max(seq) as s from jobs").get()?.s ?? 0) + 1;
    this.db
      .prepare("insert into jobs(id, seq, collection, pipeline, spec, state, ready, created_at, updated_at) values (?, ?, ?, ?, ?, 'PENDING', 0, ?, ?)")
      .run(id, seq, spec.collection, spec.pipeline, JSON.stringify(spec), now, now);
    // A repeated id within one job (a BEIR file listing an _id twice) keeps the last version.
    const insert = this.db.prepare(
      `insert into job_documents(job_id, doc_id, seq, source, ref, state, updated_at) values (?, ?, ?, ?, ?, 'PENDING', ?)
       on conflict(job_id, doc_id) do update set ref = excluded.ref, source = excluded.source`,
    );
    const flush = this.db.transaction((batch: Array<[number, DocumentRef]>) => {
      for (const [n, ref] of batch) insert.run(id, ref.id, n, ref.source, JSON.stringify(ref), now);
    });
    let batch: Array<[number, DocumentRef]> = [];
    let n = 0;
    try {
      for await (const ref of documents) {
        batch.push([n++, ref]);
        if (batch.length >= INSERT_BATCH) {
          flush(batch);
          batch = [];
        }
      }
      flush(batch);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      this.db.prepare("update jobs set state = 'FAILED', error = ?, ready = 1, updated_at = ? where id = ?").run(message, new Date().toISOString(), id);
      throw err;
    }
    // An empty job has nothing to do: it is complete as soon as it exists.
    const state: JobState = n === 0 ? "COMPLETED" : "PENDING";
    this.db.prepare("update jobs set ready = 1, state = ?, updated_at = ? where id = ?").run(state, new Date().toISOString(), id);
    return this.#toJob(this.#jobRow(id));
  }

  async getJob(jobId: string, options: { documents?: boolean; stages?: boolean } = {}): Promise<Job> {
    const job = this.#toJob(this.#jobRow(jobId));
    if (options.documents) {
      const stagesOf = this.db.prepare<[string, string], { stage: string; state: StageRecord["state"]; attempts: number; started_at: string | null; finished_at: string | null; error: string | null }>(
        "select stage, state, attempts, started_at, finished_at, error from job_stages where job_id = ? and doc_id = ? order by started_at",
      );
      job.documents = this.db
        .prepare<[string], DocRow>("select doc_id, source, state, current_stage, attempts, outcome, error_code, error_message from job_documents where job_id = ? order by seq")
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
            ? {
                stages: stagesOf.all(jobId, d.doc_id).map((s) => ({ stage: s.stage, state: s.state, attempts: s.attempts, startedAt: s.started_at, finishedAt: s.finished_at, error: s.error })),
              }
            : {}),
        }));
    }
    return job;
  }

  async listJobs(options: ListJobsOptions = {}): Promise<Job[]> {
    const limit = options.limit ?? 1000;
    const rows = this.db.prepare<[number], JobRow>("select * from (select * from jobs order by seq desc limit ?) order by seq").all(limit);
    return rows.map((r) => this.#toJob(r));
  }

  async jobState(jobId: string): Promise<JobState> {
    const row = this.db.prepare<[string], { state: JobState }>("select state from jobs where id = ?").get(jobId);
    if (!row) throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
    return row.state;
  }

  async claimJob(owner: string, leaseMs: number, jobId?: string): Promise<Job | null> {
    const now = Date.now();
    const claimed = this.db.transaction((): string | null => {
      const row = this.db
        .prepare<[number, string | null, string | null], { id: string }>(
          `select id from jobs where ready = 1 and (state = 'PENDING' or (state = 'PROCESSING' and lease_expires < ?))
           and (? is null or id = ?) order by seq limit 1`,
        )
        .get(now, jobId ?? null, jobId ?? null);
      if (!row) return null;
      this.db
        .prepare("update jobs set state = 'PROCESSING', lease_owner = ?, lease_expires = ?, error = null, updated_at = ? where id = ?")
        .run(owner, now + leaseMs, new Date().toISOString(), row.id);
      return row.id;
    }).immediate();
    return claimed ? this.#toJob(this.#jobRow(claimed)) : null;
  }

  async renewLease(jobId: string, owner: string, leaseMs: number): Promise<boolean> {
    return (
      this.db.prepare("update jobs set lease_expires = ? where id = ? and lease_owner = ? and state = 'PROCESSING'").run(Date.now() + leaseMs, jobId, owner).changes > 0
    );
  }

  async expireLease(jobId: string, owner: string): Promise<boolean> {
    return this.db.prepare("update jobs set lease_expires = 0 where id = ? and lease_owner = ? and state = 'PROCESSING'").run(jobId, owner).changes > 0;
  }

  async pendingDocuments(jobId: string, afterSeq: number, limit: number): Promise<PendingDocument[]> {
    return this.db
      .prepare<[string, number, number], { seq: number; doc_id: string; ref: string }>(
        "select seq, doc_id, ref from job_documents where job_id = ? and state in ('PENDING', 'PROCESSING') and seq > ? order by seq limit ?",
      )
      .all(jobId, afterSeq, limit)
      .map((r) => ({ seq: r.seq, docId: r.doc_id, ref: JSON.parse(r.ref) as DocumentRef }));
  }

  async recordDocuments(jobId: string, updates: DocumentUpdate[]): Promise<void> {
    if (updates.length === 0) return;
    const now = new Date().toISOString();
    const setDoc = this.db.prepare(
      `update job_documents set state = ?, outcome = ?, error_code = ?, error_message = ?, current_stage = ?, attempts = attempts + 1, updated_at = ?
       where job_id = ? and doc_id = ?`,
    );
    const setStage = this.db.prepare(
      `insert into job_stages(job_id, doc_id, stage, state, attempts, started_at, finished_at, error) values (?, ?, ?, ?, ?, ?, ?, ?)
       on conflict(job_id, doc_id, stage) do update set state = excluded.state, attempts = excluded.attempts, started_at = excluded.started_at,
         finished_at = excluded.finished_at, error = excluded.error`,
    );
    const dropCheckpoints = this.db.prepare("delete from checkpoints where job_id = ? and doc_id = ?");
    this.db.transaction(() => {
      for (const u of updates) {
        const last = u.stages[u.stages.length - 1];
        setDoc.run(u.state, u.outcome ?? null, u.error?.code ?? null, u.error?.message ?? null, last?.stage ?? null, now, jobId, u.docId);
        for (const s of u.stages) setStage.run(jobId, u.docId, s.stage, s.state, s.attempts, s.startedAt, s.finishedAt, s.error);
        if (u.state === "COMPLETED") dropCheckpoints.run(jobId, u.docId);
      }
      this.db.prepare("update jobs set updated_at = ? where id = ?").run(now, jobId);
    })();
  }

  async setCurrentStage(jobId: string, stage: string | null): Promise<void> {
    this.db.prepare("update jobs set current_stage = ? where id = ?").run(stage, jobId);
  }

  async finishJob(jobId: string, owner: string, error?: string): Promise<Job> {
    this.db.transaction(() => {
      const row = this.#jobRow(jobId);
      if (row.state !== "PROCESSING") return;
      const job = this.#toJob(row);
      const unfinished = job.total - job.done - job.failed - job.cancelled;
      let state: JobState;
      if (error) state = "FAILED";
      else if (unfinished > 0) state = "PENDING";
      else state = job.total > 0 && job.failed === job.total ? "FAILED" : "COMPLETED";
      this.db
        .prepare("update jobs set state = ?, error = ?, current_stage = null, lease_owner = null, lease_expires = null, updated_at = ? where id = ? and lease_owner = ?")
        .run(state, error ?? (state === "FAILED" ? "every document failed" : null), new Date().toISOString(), jobId, owner);
    }).immediate();
    return this.#toJob(this.#jobRow(jobId));
  }

  async cancelJob(jobId: string): Promise<Job> {
    this.db.transaction(() => {
      const row = this.#jobRow(jobId);
      if (isTerminal(row.state)) {
        throw new SluiceError("JOB_STATE_CONFLICT", `job "${jobId}" is already ${row.state}; only PENDING or PROCESSING jobs can be cancelled`, {
          details: { jobId, state: row.state },
        });
      }
      const now = new Date().toISOString();
      this.db.prepare("update jobs set state = 'CANCELLED', current_stage = null, lease_owner = null, lease_expires = null, updated_at = ? where id = ?").run(now, jobId);
      this.db.prepare("update job_documents set state = 'CANCELLED', updated_at = ? where job_id = ? and state in ('PENDING', 'PROCESSING')").run(now, jobId);
    }).immediate();
    return this.#toJob(this.#jobRow(jobId));
  }

  async resumeJob(jobId: string): Promise<Job> {
    this.db.transaction(() => {
      const row = this.#jobRow(jobId);
      const job = this.#toJob(row);
      const lease = this.db.prepare<[string], { lease_expires: number | null }>("select lease_expires from jobs where id = ?").get(jobId)!;
      if (row.state === "PROCESSING" && (lease.lease_expires ?? 0) > Date.now()) {
        throw new SluiceError("JOB_STATE_CONFLICT", `job "${jobId}" is running (its worker holds a live lease); cancel it first or wait`, { details: { jobId } });
      }
      if (row.state === "COMPLETED" && job.failed === 0 && job.cancelled === 0) {
        throw new SluiceError("JOB_STATE_CONFLICT", `job "${jobId}" completed with every document indexed; nothing to resume`, { details: { jobId } });
      }
      const now = new Date().toISOString();
      this.db
        .prepare("update job_documents set state = 'PENDING', error_code = null, error_message = null, updated_at = ? where job_id = ? and state in ('FAILED', 'CANCELLED', 'PROCESSING')")
        .run(now, jobId);
      this.db.prepare("update jobs set state = 'PENDING', error = null, lease_owner = null, lease_expires = null, updated_at = ? where id = ?").run(now, jobId);
    }).immediate();
    return this.#toJob(this.#jobRow(jobId));
  }

  async loadCheckpoint(jobId: string, docId: string, node: string): Promise<Record<string, unknown> | undefined> {
    const row = this.db.prepare<[string, string, string], { data: Buffer }>("select data from checkpoints where job_id = ? and doc_id = ? and node = ?").get(jobId, docId, node);
    return row ? (deserialize(row.data) as Record<string, unknown>) : undefined;
  }

  async saveCheckpoint(jobId: string, docId: string, node: string, output: Record<string, unknown>): Promise<void> {
    this.db.prepare("insert or replace into checkpoints(job_id, doc_id, node, data) values (?, ?, ?, ?)").run(jobId, docId, node, serialize(output));
  }
}
