import type Database from "better-sqlite3";
import type { SqliteDatabase } from "../../db/open-sqlite.ts";
import { StatementCache } from "../../db/statement-cache.ts";
import { DEFAULT_LANE_WEIGHTS, LANES, type DeadLetter, type Lane, type LeaseOptions, type NewSpoolRecord, type Spool, type SpoolRecord, type SpoolStats } from "../spool.ts";

export const SPOOL_SCHEMA = `
create table if not exists spool (
  seq integer primary key,
  job_id text not null,
  doc_id text not null,
  lane text not null,
  state text not null,
  envelope blob,
  bytes integer not null,
  attempts integer not null default 0,
  lease_owner text,
  lease_expires integer,
  not_before integer not null default 0,
  last_error text,
  created_ms integer not null
);
create index if not exists spool_live on spool(lane, seq) where state in ('PENDING', 'LEASED');
create index if not exists spool_by_job on spool(job_id, state);
create index if not exists spool_by_owner on spool(lease_owner) where state = 'LEASED';
`;

interface Row {
  seq: number;
  job_id: string;
  doc_id: string;
  lane: Lane;
  attempts: number;
  created_ms: number;
  envelope: Buffer;
}

/**
 * The embedded spool: one table in the ledger's SQLite file (WAL, synchronous=FULL), so an
 * append and the job it belongs to, or a tombstone and the document's COMPLETED state, commit in
 * one transaction. Every method is synchronous so callers can compose them in one.
 *
 * @example
 * const spool = new SqliteSpool(ledger.db);
 * const [seq] = spool.append([{ jobId, docId: "a", lane: "normal", envelope }]);
 * const leased = spool.lease("worker-1", 64, 30_000);
 */
export class SqliteSpool implements Spool {
  readonly #db: SqliteDatabase;
  readonly #statements: StatementCache;

  constructor(db: SqliteDatabase) {
    this.#db = db;
    db.exec(SPOOL_SCHEMA);
    this.#statements = new StatementCache(db);
  }

  #stmt<P extends unknown[] = unknown[], R = unknown>(sql: string): Database.Statement<P, R> {
    return this.#statements.get<P, R>(sql);
  }

  append(records: NewSpoolRecord[], now = Date.now()): number[] {
    const insert = this.#stmt("insert into spool(job_id, doc_id, lane, state, envelope, bytes, created_ms) values (?, ?, ?, 'PENDING', ?, ?, ?)");
    return this.#db.transaction(() => records.map((r) => Number(insert.run(r.jobId, r.docId, r.lane, r.envelope, r.envelope.byteLength, now).lastInsertRowid))).immediate();
  }

  lease(owner: string, max: number, leaseMs: number, options: LeaseOptions = {}): SpoolRecord[] {
    const now = options.now ?? Date.now();
    const weights = options.weights ?? DEFAULT_LANE_WEIGHTS;
    const job = options.jobId ?? null;
    const candidates = this.#stmt<[string, number, number, string | null, string | null, number], Row>(
      `select seq, job_id, doc_id, lane, attempts, created_ms, envelope from spool
       where lane = ? and state in ('PENDING', 'LEASED')
         and ((state = 'PENDING' and not_before <= ?) or (state = 'LEASED' and lease_expires < ?))
         and (? is null or job_id = ?)
       order by seq limit ?`,
    );
    const take = this.#stmt("update spool set state = 'LEASED', lease_owner = ?, lease_expires = ?, attempts = attempts + 1 where seq = ?");
    return this.#db
      .transaction((): SpoolRecord[] => {
        const ready = new Map<Lane, Row[]>();
        for (const lane of LANES) {
          const rows = candidates.all(lane, now, now, job, job, max);
          if (rows.length > 0) ready.set(lane, rows);
        }
        // Weighted fair share of this lease among the lanes that have work, then any room left
        // goes to whoever still has records (work-conserving: an idle lane's share is not wasted).
        const total = [...ready.keys()].reduce((a, l) => a + weights[l], 0);
        const chosen: Row[] = [];
        const taken = new Map<Lane, number>();
        for (const [lane, rows] of ready) {
          const share = Math.max(1, Math.floor((max * weights[lane]) / total));
          const n = Math.min(share, rows.length, max - chosen.length);
          chosen.push(...rows.slice(0, n));
          taken.set(lane, n);
        }
        for (const lane of LANES) {
          const rows = ready.get(lane);
          if (!rows) continue;
          const from = taken.get(lane) ?? 0;
          const n = Math.min(rows.length - from, max - chosen.length);
          if (n > 0) chosen.push(...rows.slice(from, from + n));
        }
        for (const row of chosen) take.run(owner, now + leaseMs, row.seq);
        return chosen.map((r) => ({ seq: r.seq, jobId: r.job_id, docId: r.doc_id, lane: r.lane, attempts: r.attempts + 1, createdMs: r.created_ms, envelope: r.envelope }));
      })
      .immediate();
  }

  tombstone(seqs: readonly number[]): void {
    const done = this.#stmt("update spool set state = 'DONE', envelope = null, lease_owner = null, lease_expires = null where seq = ?");
    this.#db.transaction(() => {
      for (const seq of seqs) done.run(seq);
    }).immediate();
  }

  release(seq: number, error: string | null, notBeforeMs: number, options: { refund?: boolean } = {}): void {
    this.#stmt(
      "update spool set state = 'PENDING', lease_owner = null, lease_expires = null, not_before = ?, last_error = coalesce(?, last_error), attempts = max(0, attempts - ?) where seq = ? and state = 'LEASED'",
    ).run(notBeforeMs, error, options.refund ? 1 : 0, seq);
  }

  deadLetter(seq: number, error: string): void {
    this.#stmt("update spool set state = 'DEAD', lease_owner = null, lease_expires = null, last_error = ? where seq = ?").run(error, seq);
  }

  recover(isAlive: (owner: string) => boolean, now = Date.now()): number {
    const owners = this.#stmt<[number], { lease_owner: string }>("select distinct lease_owner from spool where state = 'LEASED' and lease_expires >= ?").all(now);
    let freed = 0;
    for (const { lease_owner: owner } of owners) {
      if (isAlive(owner)) continue;
      freed += this.#stmt("update spool set lease_expires = 0 where state = 'LEASED' and lease_owner = ?").run(owner).changes;
    }
    return freed;
  }

  cancelJob(jobId: string): number {
    return this.#stmt("update spool set state = 'CANCELLED', lease_owner = null, lease_expires = null where job_id = ? and state in ('PENDING', 'LEASED')").run(jobId).changes;
  }

  requeueJob(jobId: string): number {
    return this.#stmt("update spool set state = 'PENDING', attempts = 0, not_before = 0, last_error = null where job_id = ? and state in ('CANCELLED', 'DEAD')").run(jobId).changes;
  }

  stats(now = Date.now()): SpoolStats {
    const pending: Record<Lane, number> = { high: 0, normal: 0, bulk: 0 };
    for (const r of this.#stmt<[], { lane: Lane; n: number }>("select lane, count(*) as n from spool where state in ('PENDING', 'LEASED') group by lane").all()) pending[r.lane] = r.n;
    const agg = this.#stmt<[], { leased: number; bytes: number | null; oldest: number | null }>(
      "select sum(state = 'LEASED') as leased, sum(bytes) as bytes, min(created_ms) as oldest from spool where state in ('PENDING', 'LEASED')",
    ).get()!;
    const counts = this.#stmt<[], { dead: number; done: number }>("select coalesce(sum(state = 'DEAD'), 0) as dead, coalesce(sum(state = 'DONE'), 0) as done from spool").get()!;
    return {
      pending,
      leased: agg.leased ?? 0,
      bytes: agg.bytes ?? 0,
      oldestAgeSeconds: agg.oldest === null ? 0 : Math.max(0, (now - agg.oldest) / 1000),
      dead: counts.dead,
      tombstoned: counts.done,
    };
  }

  deadLetters(limit = 100): DeadLetter[] {
    return this.#stmt<[number], { seq: number; job_id: string; doc_id: string; lane: Lane; attempts: number; last_error: string | null; created_ms: number }>(
      "select seq, job_id, doc_id, lane, attempts, last_error, created_ms from spool where state = 'DEAD' order by seq limit ?",
    )
      .all(limit)
      .map((r) => ({ seq: r.seq, jobId: r.job_id, docId: r.doc_id, lane: r.lane, attempts: r.attempts, error: r.last_error ?? "", createdMs: r.created_ms }));
  }

  retryDeadLetter(seq: number): boolean {
    return this.#stmt("update spool set state = 'PENDING', attempts = 0, not_before = 0 where seq = ? and state = 'DEAD'").run(seq).changes > 0;
  }

  dropDeadLetter(seq: number): boolean {
    return this.#stmt("update spool set state = 'DONE', envelope = null where seq = ? and state = 'DEAD'").run(seq).changes > 0;
  }

  compact(): number {
    const reclaimed = this.#stmt("delete from spool where state = 'DONE'").run().changes;
    // Give the freed pages back to the file system when the database was made for it.
    this.#db.pragma("incremental_vacuum");
    return reclaimed;
  }
}
