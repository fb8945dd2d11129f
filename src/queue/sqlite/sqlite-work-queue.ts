import type Database from "better-sqlite3";
import type { SqliteDatabase } from "../../db/open-sqlite.ts";
import type { SharedSqlite } from "../../db/sqlite-migrations.ts";
import { type StageRecord, WAITING_CODE } from "../../contracts/job.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import { fairShare } from "../fair-share.ts";
import {
  DEFAULT_LANE_WEIGHTS,
  LANES,
  type AdmittedDocument,
  type DeadLetter,
  type Dispatchable,
  type DocumentOutcome,
  type Lane,
  type Lease,
  type LeaseOptions,
  type QueueStats,
  type Recovered,
  type RecordQueue,
  type ReleaseOptions,
  type WaitOptions,
} from "../work-queue.ts";
import { QUEUE_MIGRATIONS } from "./schema.ts";

interface Row {
  seq: number;
  job_id: string;
  doc_id: string;
  lane: Lane;
  attempts: number;
  crashes: number;
  suspect: number;
  created_ms: number;
  envelope: Buffer;
}

const LEASE_COLUMNS = "seq, job_id, doc_id, lane, attempts, crashes, suspect, created_ms, envelope";

const toLease = (r: Row): Lease => ({
  seq: r.seq,
  jobId: r.job_id,
  docId: r.doc_id,
  lane: r.lane,
  attempts: r.attempts + 1,
  crashes: r.crashes,
  suspect: r.suspect === 1,
  createdMs: r.created_ms,
  envelope: r.envelope,
});

/**
 * The embedded work queue: the `spool` table in `ledger.db` (WAL, synchronous=FULL), beside the
 * ledger's tables, so admitting a document, leasing it and recording its outcome each update its
 * spool record and its document record in one transaction.
 *
 * @example
 * const file = new SharedSqlite(join(dataDir, "ledger.db"), openLedgerDb);
 * const queue = new SqliteWorkQueue(file);
 * await queue.open();
 * const leases = await queue.lease("host:42:ab", 16, 30_000);
 */
export class SqliteWorkQueue implements RecordQueue {
  readonly file: SharedSqlite;
  #db: SqliteDatabase | null = null;
  #statements: StatementCache | null = null;

  constructor(file: SharedSqlite) {
    this.file = file;
  }

  async open(): Promise<void> {
    if (this.#db) return;
    const db = this.file.acquireMigrated("queue", QUEUE_MIGRATIONS);
    this.#db = db;
    this.#statements = new StatementCache(db);
  }

  async close(): Promise<void> {
    if (!this.#db) return;
    this.#statements = null;
    this.#db = null;
    this.file.release();
  }

  get #conn(): SqliteDatabase {
    if (!this.#db) throw new Error("SqliteWorkQueue is not open; call open() first");
    return this.#db;
  }

  #stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    if (!this.#statements) throw new Error("SqliteWorkQueue is not open; call open() first");
    return this.#statements.get<P, R>(sql);
  }

  #tx<T>(fn: () => T): T {
    return this.#conn.transaction(fn).immediate();
  }

  async admit(jobId: string, documents: AdmittedDocument[]): Promise<void> {
    if (documents.length === 0) return;
    const nowMs = Date.now();
    const now = new Date(nowMs).toISOString();
    const append = this.#stmt(
      "insert into spool(job_id, doc_id, lane, state, envelope, bytes, created_ms) values (?, ?, ?, 'PENDING', ?, ?, ?)",
    );
    const record = this.#stmt(
      `insert into job_documents(job_id, doc_id, seq, source, spool_seq, state, updated_at) values (?, ?, ?, ?, ?, 'PENDING', ?)
       on conflict(job_id, doc_id) do update set source = excluded.source, spool_seq = excluded.spool_seq, state = 'PENDING'`,
    );
    const previous = this.#stmt<[string, string], { spool_seq: number | null }>(
      "select spool_seq from job_documents where job_id = ? and doc_id = ?",
    );
    const retire = this.#stmt(
      "update spool set state = 'DONE', envelope = null where seq = ? and state in ('PENDING', 'LEASED', 'WAITING')",
    );
    const job = this.#stmt<[string], { id: string }>("select id from jobs where id = ?");
    this.#tx(() => {
      if (!job.get(jobId)) throw new Error(`job "${jobId}" does not exist`);
      for (const d of documents) {
        const seq = Number(
          append.run(jobId, d.ref.id, d.lane, d.envelope, d.envelope.byteLength, nowMs).lastInsertRowid,
        );
        // A repeated id within one job (a BEIR file listing an _id twice) keeps the last version.
        const old = previous.get(jobId, d.ref.id)?.spool_seq;
        if (old != null) retire.run(old);
        record.run(jobId, d.ref.id, seq, d.ref.source, seq, now);
      }
    });
  }

  #mark(rows: Row[], owner: string, until: number): Lease[] {
    const take = this.#stmt(
      "update spool set state = 'LEASED', lease_owner = ?, lease_expires = ?, solo = 0, attempts = attempts + 1 where seq = ?",
    );
    const markDoc = this.#stmt(
      "update job_documents set state = 'PROCESSING', updated_at = ? where job_id = ? and doc_id = ? and spool_seq = ?",
    );
    const markJob = this.#stmt(
      "update jobs set state = 'PROCESSING', updated_at = ? where id = ? and state = 'PENDING'",
    );
    const now = new Date().toISOString();
    const jobs = new Set<string>();
    for (const row of rows) {
      take.run(owner, until, row.seq);
      markDoc.run(now, row.job_id, row.doc_id, row.seq);
      jobs.add(row.job_id);
    }
    for (const j of jobs) markJob.run(now, j);
    return rows.map(toLease);
  }

  async lease(owner: string, max: number, leaseMs: number, options: LeaseOptions = {}): Promise<Lease[]> {
    const now = options.now ?? Date.now();
    const job = options.jobId ?? null;
    if (options.suspects === "only") {
      return this.#tx(() => {
        if (
          this.#stmt<[string], { n: number }>(
            "select count(*) as n from spool where state = 'LEASED' and lease_owner = ?",
          ).get(owner)!.n > 0
        )
          return [];
        const row = this.#stmt<[number, string | null, string | null], Row>(
          `select ${LEASE_COLUMNS} from spool where state = 'PENDING' and suspect = 1 and not_before <= ? and (? is null or job_id = ?) order by seq limit 1`,
        ).get(now, job, job);
        return row ? this.#mark([row], owner, now + leaseMs) : [];
      });
    }
    const candidates = this.#stmt<[string, number, string | null, string | null, number], Row>(
      `select ${LEASE_COLUMNS} from spool
       where lane = ? and state = 'PENDING' and suspect = 0 and not_before <= ? and (? is null or job_id = ?)
       order by seq limit ?`,
    );
    return this.#tx(() => {
      this.#endDueWaits(now);
      const ready = new Map<Lane, Row[]>();
      for (const lane of LANES) {
        const rows = candidates.all(lane, now, job, job, max);
        if (rows.length > 0) ready.set(lane, rows);
      }
      return this.#mark(fairShare(ready, max, options.weights ?? DEFAULT_LANE_WEIGHTS), owner, now + leaseMs);
    });
  }

  async claim(owner: string, seqs: readonly number[], leaseMs: number, now = Date.now()): Promise<Lease[]> {
    const one = this.#stmt<[number, number], Row>(
      `select ${LEASE_COLUMNS} from spool where seq = ? and state = 'PENDING' and suspect = 0 and not_before <= ?`,
    );
    return this.#tx(() =>
      this.#mark(
        seqs.flatMap((seq) => one.get(seq, now) ?? []),
        owner,
        now + leaseMs,
      ),
    );
  }

  async renew(owner: string, seqs: readonly number[], leaseMs: number): Promise<number[]> {
    const renew = this.#stmt(
      "update spool set lease_expires = ? where seq = ? and lease_owner = ? and state = 'LEASED'",
    );
    const until = Date.now() + leaseMs;
    return this.#tx(() => seqs.filter((seq) => renew.run(until, seq, owner).changes === 0));
  }

  async isolate(owner: string, seq: number): Promise<void> {
    this.#stmt("update spool set solo = 1 where seq = ? and lease_owner = ? and state = 'LEASED'").run(seq, owner);
  }

  #upsertStage(jobId: string, docId: string, s: StageRecord): void {
    this.#stmt(
      `insert into job_stages(job_id, doc_id, stage, state, attempts, started_at, finished_at, error) values (?, ?, ?, ?, ?, ?, ?, ?)
       on conflict(job_id, doc_id, stage) do update set state = excluded.state, attempts = excluded.attempts, started_at = excluded.started_at,
         finished_at = excluded.finished_at, error = excluded.error`,
    ).run(jobId, docId, s.stage, s.state, s.attempts, s.startedAt, s.finishedAt, s.error);
  }

  #settle(outcomes: DocumentOutcome[], state: "COMPLETED" | "FAILED"): void {
    if (outcomes.length === 0) return;
    const now = new Date().toISOString();
    // Matched on the spool record, so a stale run of an older version writes nothing. A document
    // that finished while its job was being cancelled is recorded as what it is: indexed.
    const setDoc = this.#stmt(
      `update job_documents set state = ?, outcome = ?, error_code = ?, error_message = ?, current_stage = ?, attempts = attempts + 1, updated_at = ?
       where job_id = ? and doc_id = ? and spool_seq = ?`,
    );
    const dropCheckpoints = this.#stmt("delete from checkpoints where job_id = ? and doc_id = ?");
    const tombstone = this.#stmt(
      "update spool set state = 'DONE', envelope = null, lease_owner = null, lease_expires = null, wait_for = null where seq = ?",
    );
    const dead = this.#stmt(
      "update spool set state = 'DEAD', lease_owner = null, lease_expires = null, wait_for = null, last_error = ? where seq = ?",
    );
    const touch = this.#stmt("update jobs set updated_at = ? where id = ?");
    this.#tx(() => {
      const jobs = new Set<string>();
      for (const o of outcomes) {
        const last = o.stages[o.stages.length - 1];
        setDoc.run(
          state,
          o.outcome ?? null,
          o.error?.code ?? null,
          o.error?.message ?? null,
          last?.stage ?? null,
          now,
          o.jobId,
          o.docId,
          o.seq,
        );
        for (const s of o.stages) this.#upsertStage(o.jobId, o.docId, s);
        if (state === "COMPLETED") {
          tombstone.run(o.seq);
          dropCheckpoints.run(o.jobId, o.docId);
        } else {
          dead.run(o.error ? `${o.error.code}: ${o.error.message}` : "failed", o.seq);
        }
        jobs.add(o.jobId);
      }
      for (const j of jobs) touch.run(now, j);
    });
  }

  async complete(outcomes: DocumentOutcome[]): Promise<void> {
    this.#settle(outcomes, "COMPLETED");
  }

  async deadLetter(outcomes: DocumentOutcome[]): Promise<void> {
    this.#settle(outcomes, "FAILED");
  }

  async release(seq: number, options: ReleaseOptions): Promise<void> {
    this.#stmt(
      "update spool set state = 'PENDING', lease_owner = null, lease_expires = null, not_before = ?, last_error = coalesce(?, last_error), attempts = max(0, attempts - ?) where seq = ? and state = 'LEASED' and (? is null or lease_owner = ?)",
    ).run(
      options.notBefore,
      options.error ?? null,
      options.refund ? 1 : 0,
      seq,
      options.owner ?? null,
      options.owner ?? null,
    );
  }

  async wait(seq: number, options: WaitOptions): Promise<void> {
    this.#tx(() => {
      const changed = this.#stmt(
        "update spool set state = 'WAITING', lease_owner = null, lease_expires = null, wait_for = ?, not_before = ?, last_error = coalesce(?, last_error), attempts = max(0, attempts - 1) where seq = ? and state = 'LEASED' and (? is null or lease_owner = ?)",
      ).run(
        options.condition,
        options.until ?? Number.MAX_SAFE_INTEGER,
        options.reason ?? null,
        seq,
        options.owner ?? null,
        options.owner ?? null,
      ).changes;
      if (changed === 0) return;
      const doc = this.#stmt<[string | null, string | null, string, number], { job_id: string; doc_id: string }>(
        `update job_documents set state = 'WAITING', current_stage = coalesce(?, current_stage), error_code = '${WAITING_CODE}', error_message = ?, updated_at = ?
         where spool_seq = ? and state = 'PROCESSING' returning job_id, doc_id`,
      ).get(options.stage ?? null, options.reason ?? null, new Date().toISOString(), seq);
      if (doc) for (const s of options.stages ?? []) this.#upsertStage(doc.job_id, doc.doc_id, s);
    });
  }

  async wake(condition: string): Promise<Dispatchable[]> {
    return this.#tx(() => {
      const rows = this.#stmt<[string], { seq: number; lane: Lane }>(
        "select seq, lane from spool where state = 'WAITING' and wait_for = ? order by seq",
      ).all(condition);
      const wake = this.#stmt("update spool set state = 'PENDING', wait_for = null, not_before = 0 where seq = ?");
      const doc = this.#stmt(
        "update job_documents set state = 'PENDING', updated_at = ? where spool_seq = ? and state = 'WAITING'",
      );
      const now = new Date().toISOString();
      for (const r of rows) {
        wake.run(r.seq);
        doc.run(now, r.seq);
      }
      return rows.map((r) => ({ seq: r.seq, lane: r.lane, notBefore: 0 }));
    });
  }

  async signal(condition: string): Promise<number> {
    return (await this.wake(condition)).length;
  }

  /** Waits whose time has come become PENDING (their documents too); part of every recovery sweep. */
  #endDueWaits(now: number): void {
    const due = this.#stmt<[number], { seq: number }>(
      "select seq from spool where state = 'WAITING' and not_before <= ?",
    ).all(now);
    if (due.length === 0) return;
    const wake = this.#stmt("update spool set state = 'PENDING', wait_for = null where seq = ?");
    const doc = this.#stmt(
      "update job_documents set state = 'PENDING', updated_at = ? where spool_seq = ? and state = 'WAITING'",
    );
    const iso = new Date(now).toISOString();
    for (const { seq } of due) {
      wake.run(seq);
      doc.run(iso, seq);
    }
  }

  async recover(isAlive: (owner: string) => boolean, now = Date.now()): Promise<Recovered> {
    return this.#tx(() => {
      this.#endDueWaits(now);
      const leased = this.#stmt<[], { seq: number; lease_owner: string; lease_expires: number; solo: number }>(
        "select seq, lease_owner, lease_expires, solo from spool where state = 'LEASED'",
      ).all();
      const alive = new Map<string, boolean>();
      const gone = leased.filter((r) => {
        if (r.lease_expires < now) return true;
        if (!alive.has(r.lease_owner)) alive.set(r.lease_owner, isAlive(r.lease_owner));
        return !alive.get(r.lease_owner);
      });
      // In flight with others when the process died: any of them may have killed it, so none is
      // blamed (the attempt is given back) and each runs alone next. Alone: it is to blame.
      const suspect = this.#stmt(
        "update spool set state = 'PENDING', lease_owner = null, lease_expires = null, suspect = 1, solo = 0, attempts = max(0, attempts - 1) where seq = ?",
      );
      const blame = this.#stmt(
        "update spool set state = 'PENDING', lease_owner = null, lease_expires = null, suspect = 1, solo = 0, crashes = crashes + 1, last_error = ? where seq = ?",
      );
      const result: Recovered = { suspects: 0, blamed: 0 };
      for (const r of gone) {
        if (r.solo === 1) {
          blame.run(
            `WORKER_CRASHED: the worker process (${r.lease_owner}) died while running this document alone`,
            r.seq,
          );
          result.blamed++;
        } else {
          suspect.run(r.seq);
          result.suspects++;
        }
      }
      return result;
    });
  }

  async cancelJob(jobId: string): Promise<number> {
    return this.#stmt(
      "update spool set state = 'CANCELLED', lease_owner = null, lease_expires = null, wait_for = null where job_id = ? and state in ('PENDING', 'LEASED', 'WAITING')",
    ).run(jobId).changes;
  }

  async requeueJob(jobId: string): Promise<number> {
    return this.#stmt(
      "update spool set state = 'PENDING', attempts = 0, crashes = 0, suspect = 0, not_before = 0, last_error = null where job_id = ? and state in ('CANCELLED', 'DEAD')",
    ).run(jobId).changes;
  }

  async liveCount(jobId: string): Promise<number> {
    return this.#stmt<[string], { n: number }>(
      "select count(*) as n from spool where job_id = ? and state in ('PENDING', 'LEASED', 'WAITING')",
    ).get(jobId)!.n;
  }

  async dispatchable(options: {
    afterSeq?: number;
    limit: number;
    jobId?: string;
    seqs?: readonly number[];
  }): Promise<Dispatchable[]> {
    const rows = options.seqs
      ? options.seqs.flatMap(
          (seq) =>
            this.#stmt<[number], { seq: number; lane: Lane; not_before: number }>(
              "select seq, lane, not_before from spool where seq = ? and state = 'PENDING' and suspect = 0",
            ).get(seq) ?? [],
        )
      : this.#stmt<[number, string | null, string | null, number], { seq: number; lane: Lane; not_before: number }>(
          "select seq, lane, not_before from spool where seq > ? and state = 'PENDING' and suspect = 0 and (? is null or job_id = ?) order by seq limit ?",
        ).all(options.afterSeq ?? 0, options.jobId ?? null, options.jobId ?? null, options.limit);
    return rows.map((r) => ({ seq: r.seq, lane: r.lane, notBefore: r.not_before }));
  }

  async stats(now = Date.now()): Promise<QueueStats> {
    const pending: Record<Lane, number> = { high: 0, normal: 0, bulk: 0 };
    const oldestByLane: Record<Lane, number> = { high: 0, normal: 0, bulk: 0 };
    for (const r of this.#stmt<[], { lane: Lane; n: number; oldest: number }>(
      "select lane, sum(state in ('PENDING', 'LEASED')) as n, min(created_ms) as oldest from spool where state in ('PENDING', 'LEASED', 'WAITING') group by lane",
    ).all()) {
      pending[r.lane] = r.n;
      oldestByLane[r.lane] = Math.max(0, (now - r.oldest) / 1000);
    }
    const agg = this.#stmt<
      [],
      {
        leased: number | null;
        waiting: number | null;
        suspects: number | null;
        bytes: number | null;
        oldest: number | null;
      }
    >(
      "select sum(state = 'LEASED') as leased, sum(state = 'WAITING') as waiting, sum(suspect) as suspects, sum(bytes) as bytes, min(created_ms) as oldest from spool where state in ('PENDING', 'LEASED', 'WAITING')",
    ).get()!;
    const counts = this.#stmt<[], { dead: number; done: number }>(
      "select coalesce(sum(state = 'DEAD'), 0) as dead, coalesce(sum(state = 'DONE'), 0) as done from spool",
    ).get()!;
    return {
      pending,
      leased: agg.leased ?? 0,
      waiting: agg.waiting ?? 0,
      suspects: agg.suspects ?? 0,
      bytes: agg.bytes ?? 0,
      oldestAgeSeconds: agg.oldest === null ? 0 : Math.max(0, (now - agg.oldest) / 1000),
      oldestAgeSecondsByLane: oldestByLane,
      dead: counts.dead,
      tombstoned: counts.done,
    };
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    return this.#stmt<
      [number],
      {
        seq: number;
        job_id: string;
        doc_id: string;
        lane: Lane;
        attempts: number;
        last_error: string | null;
        created_ms: number;
      }
    >(
      "select seq, job_id, doc_id, lane, attempts, last_error, created_ms from spool where state = 'DEAD' order by seq limit ?",
    )
      .all(limit)
      .map((r) => ({
        seq: r.seq,
        jobId: r.job_id,
        docId: r.doc_id,
        lane: r.lane,
        attempts: r.attempts,
        error: r.last_error ?? "",
        createdMs: r.created_ms,
      }));
  }

  async retryDeadLetter(seq: number): Promise<{ jobId: string; docId: string } | null> {
    return this.#tx(() => {
      const rec = this.#stmt<[number], { job_id: string; doc_id: string }>(
        "select job_id, doc_id from spool where seq = ? and state = 'DEAD'",
      ).get(seq);
      if (!rec) return null;
      this.#stmt(
        "update spool set state = 'PENDING', attempts = 0, crashes = 0, suspect = 0, not_before = 0 where seq = ?",
      ).run(seq);
      return { jobId: rec.job_id, docId: rec.doc_id };
    });
  }

  async dropDeadLetter(seq: number): Promise<boolean> {
    return (
      this.#stmt("update spool set state = 'DONE', envelope = null where seq = ? and state = 'DEAD'").run(seq).changes >
      0
    );
  }

  async compact(): Promise<number> {
    const reclaimed = this.#stmt("delete from spool where state = 'DONE'").run().changes;
    // Give the freed pages back to the file system when the database was made for it.
    this.#conn.pragma("incremental_vacuum");
    return reclaimed;
  }
}
