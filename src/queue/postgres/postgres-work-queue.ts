import type { Pool, PoolClient } from "pg";
import { SluiceError } from "../../contracts/errors.ts";
import { WAITING_CODE } from "../../contracts/job.ts";
import { inTransaction, SharedPostgres, type PostgresSettings } from "../../db/postgres/open-postgres.ts";
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

// Row locks are always taken in one order, so concurrent writers wait for each other but never
// deadlock: spool records by seq, then document records by (job_id, doc_id), then jobs by id.
// Multi-row writes lock their rows first with `order by … for no key update` (FOR NO KEY UPDATE,
// not FOR UPDATE, so inserts whose foreign keys point at a locked job are not held up); leasing
// uses SKIP LOCKED and never waits at all.

interface LeaseRow {
  seq: string;
  job_id: string;
  doc_id: string;
  lane: Lane;
  attempts: number;
  crashes: number;
  suspect: boolean;
  created_ms: string;
  envelope: Buffer;
}

interface DispatchRow {
  seq: string;
  lane: Lane;
  not_before: string;
}

const LEASE_COLUMNS = "s.seq, s.job_id, s.doc_id, s.lane, s.attempts, s.crashes, s.suspect, s.created_ms, s.envelope";
const LIVE = "('PENDING', 'LEASED', 'WAITING')";
/** Rows per INSERT when appending: 4 parameters each, well under PostgreSQL's 65,535. */
const APPEND_CHUNK = 1000;

const toLease = (r: LeaseRow): Lease => ({
  seq: Number(r.seq),
  jobId: r.job_id,
  docId: r.doc_id,
  lane: r.lane,
  attempts: r.attempts,
  crashes: r.crashes,
  suspect: r.suspect,
  createdMs: Number(r.created_ms),
  envelope: r.envelope,
});

const toDispatchable = (r: DispatchRow): Dispatchable => ({
  seq: Number(r.seq),
  lane: r.lane,
  notBefore: Number(r.not_before),
});

/**
 * Updates the document records of spool records: `source` is a relation aliased `t` with `job_id`,
 * `doc_id` and `seq` (and whatever `columns` picks for `set` to read as `l.…`). Matched on the
 * spool record (`spool_seq`), so a stale run of an older version writes nothing; locked in key order.
 */
const updateDocs = (
  set: string,
  source: string,
  options: { columns?: string; filter?: string; returning?: boolean } = {},
) => `
update job_documents d set ${set}, updated_at = now()
from (select ${options.columns ?? "t.job_id, t.doc_id"} from ${source} join job_documents j on j.job_id = t.job_id and j.doc_id = t.doc_id and j.spool_seq = t.seq
      ${options.filter ? `where ${options.filter}` : ""} order by j.job_id, j.doc_id for no key update of j) l
where d.job_id = l.job_id and d.doc_id = l.doc_id${options.returning ? " returning d.job_id, d.doc_id" : ""}`;

/** Locks then updates the spool records `pick` selects (a query returning `seq`), in seq order. */
const updateSpool = (pick: string, set: string, returning = "") => `
with l as (${pick} order by seq for no key update)
update spool s set ${set} from l where s.seq = l.seq${returning ? ` returning ${returning}` : ""}`;

/** Waiting records `pick` selects become PENDING, their documents too; selects the woken. */
const wakeSql = (pick: string, set: string) => `
with picked as (${pick}),
woke as (update spool s set state = 'PENDING', wait_for = null${set} from picked where s.seq = picked.seq returning s.seq, s.lane, s.job_id, s.doc_id, s.not_before),
docs as (${updateDocs("state = 'PENDING'", "woke t", { filter: "j.state = 'WAITING'" })})
select seq, lane, not_before from woke order by seq`;

const unique = <T>(items: Iterable<T>): T[] => [...new Set(items)];
/** Epoch ms and counts go into `bigint` parameters, which refuse fractions (a jittered backoff has them). */
const int = (n: number): number => Math.round(n);

/**
 * The work queue in PostgreSQL: the `spool` table beside the ledger's tables in one schema, so
 * admitting a document, leasing it and recording its outcome each update its spool record and its
 * document record in one transaction. Many workers on many machines lease from it at once: leases
 * use `FOR UPDATE SKIP LOCKED`, so they neither block each other nor take the same record, and
 * every batch is a handful of statements over arrays, not one round trip per record.
 *
 * @example
 * const db = new SharedPostgres({ url: "postgres://sluice@db:5432/sluice", schema: "sluice" });
 * const queue = new PostgresWorkQueue(db);
 * await queue.open();
 * const leases = await queue.lease("host:42:ab", 16, 30_000);
 */
export class PostgresWorkQueue implements RecordQueue {
  readonly db: SharedPostgres;
  #pool: Pool | null = null;

  constructor(db: SharedPostgres | PostgresSettings) {
    this.db = db instanceof SharedPostgres ? db : new SharedPostgres(db);
  }

  async open(): Promise<void> {
    this.#pool ??= await this.db.acquireMigrated("queue", QUEUE_MIGRATIONS);
  }

  async close(): Promise<void> {
    if (!this.#pool) return;
    this.#pool = null;
    await this.db.release();
  }

  get #conn(): Pool {
    if (!this.#pool) throw new Error("PostgresWorkQueue is not open; call open() first");
    return this.#pool;
  }

  #tx<T>(fn: (client: PoolClient) => Promise<T>): Promise<T> {
    return inTransaction(this.#conn, fn);
  }

  async admit(jobId: string, documents: AdmittedDocument[]): Promise<void> {
    if (documents.length === 0) return;
    const nowMs = Date.now();
    await this.#tx(async (c) => {
      if (!(await c.query("select 1 from jobs where id = $1", [jobId])).rowCount) {
        throw new SluiceError("JOB_NOT_FOUND", `job "${jobId}" not found`, { details: { jobId } });
      }
      // Identity values follow the rows' order, so a repeated id's last version gets its highest seq.
      const appended: Array<{ seq: number; docId: string }> = [];
      for (let i = 0; i < documents.length; i += APPEND_CHUNK) {
        const params: unknown[] = [jobId, nowMs];
        const rows = documents.slice(i, i + APPEND_CHUNK).map((d) => {
          const at = params.push(
            d.ref.id,
            d.lane,
            Buffer.from(d.envelope.buffer, d.envelope.byteOffset, d.envelope.byteLength),
            d.envelope.byteLength,
          );
          return `($1, $${at - 3}, $${at - 2}, 'PENDING', $${at - 1}, $${at}, $2)`;
        });
        const { rows: inserted } = await c.query<{ seq: string; doc_id: string }>(
          `insert into spool(job_id, doc_id, lane, state, envelope, bytes, created_ms) values ${rows.join(", ")} returning seq, doc_id`,
          params,
        );
        appended.push(...inserted.map((r) => ({ seq: Number(r.seq), docId: r.doc_id })));
      }
      const latest = new Map<string, number>();
      for (const a of appended) latest.set(a.docId, Math.max(a.seq, latest.get(a.docId) ?? 0));
      const sources = new Map(documents.map((d) => [d.ref.id, d.ref.source]));
      const ids = [...latest.keys()].sort();
      // A repeated id within one job (a BEIR file listing an _id twice) keeps the last version.
      const previous = await c.query<{ spool_seq: string }>(
        "select spool_seq from job_documents where job_id = $1 and doc_id = any($2::text[]) and spool_seq is not null",
        [jobId, ids],
      );
      const retired = [
        ...previous.rows.map((r) => Number(r.spool_seq)),
        ...appended.filter((a) => latest.get(a.docId) !== a.seq).map((a) => a.seq),
      ];
      if (retired.length > 0) {
        await c.query(
          updateSpool(
            `select seq from spool where seq = any($1::bigint[]) and state in ${LIVE}`,
            "state = 'DONE', envelope = null, lease_owner = null, lease_expires = null, wait_for = null",
          ),
          [retired],
        );
      }
      await c.query(
        `insert into job_documents(job_id, doc_id, seq, source, spool_seq, state)
         select $1, t.doc_id, t.seq, t.source, t.seq, 'PENDING' from unnest($2::text[], $3::bigint[], $4::text[]) as t(doc_id, seq, source) order by t.doc_id
         on conflict (job_id, doc_id) do update set source = excluded.source, spool_seq = excluded.spool_seq, state = 'PENDING', updated_at = now()`,
        [jobId, ids, ids.map((id) => latest.get(id)!), ids.map((id) => sources.get(id)!)],
      );
    });
  }

  /**
   * Leases records this transaction holds locked; their documents and PENDING jobs become
   * PROCESSING. Returns them in `seqs` order.
   */
  async #take(c: PoolClient, seqs: readonly number[], owner: string, until: number): Promise<Lease[]> {
    if (seqs.length === 0) return [];
    const { rows } = await c.query<LeaseRow>(
      `with taken as (update spool s set state = 'LEASED', lease_owner = $2, lease_expires = $3, solo = false, attempts = s.attempts + 1
                      where s.seq = any($1::bigint[]) returning ${LEASE_COLUMNS}),
       docs as (${updateDocs("state = 'PROCESSING'", "taken t")})
       select * from taken`,
      [seqs, owner, until],
    );
    await c.query(
      "update jobs set state = 'PROCESSING', updated_at = now() where id in (select id from jobs where id = any($1::text[]) and state = 'PENDING' order by id for no key update)",
      [unique(rows.map((r) => r.job_id))],
    );
    const bySeq = new Map(rows.map((r) => [Number(r.seq), toLease(r)]));
    return seqs.flatMap((seq) => bySeq.get(seq) ?? []);
  }

  async lease(owner: string, max: number, leaseMs: number, options: LeaseOptions = {}): Promise<Lease[]> {
    const limit = Math.floor(max);
    if (limit < 1) return [];
    const now = int(options.now ?? Date.now());
    const until = int(now + leaseMs);
    const job = options.jobId ?? null;
    if (options.suspects === "only") {
      return this.#tx(async (c) => {
        if (
          (await c.query("select 1 from spool where state = 'LEASED' and lease_owner = $1 limit 1", [owner])).rowCount
        )
          return [];
        const { rows } = await c.query<{ seq: string }>(
          "select seq from spool where state = 'PENDING' and suspect and not_before <= $1 and ($2::text is null or job_id = $2) order by seq limit 1 for no key update skip locked",
          [now, job],
        );
        return this.#take(
          c,
          rows.map((r) => Number(r.seq)),
          owner,
          until,
        );
      });
    }
    await this.#endDueWaits(now);
    return this.#tx(async (c) => {
      // Up to `limit` ready records per lane, locked (records other leases hold are skipped, never waited for).
      const perLane = LANES.map(
        (
          lane,
        ) => `lane_${lane} as (select seq, lane from spool where lane = '${lane}' and state = 'PENDING' and not suspect and not_before <= $1
                   and ($2::text is null or job_id = $2) order by seq limit $3 for no key update skip locked)`,
      );
      const { rows } = await c.query<{ seq: string; lane: Lane }>(
        `with ${perLane.join(", ")} ${LANES.map((l) => `select * from lane_${l}`).join(" union all ")}`,
        [now, job, limit],
      );
      const ready = new Map<Lane, number[]>();
      for (const lane of LANES) {
        const seqs = rows.filter((r) => r.lane === lane).map((r) => Number(r.seq));
        if (seqs.length > 0)
          ready.set(
            lane,
            seqs.sort((a, b) => a - b),
          );
      }
      return this.#take(c, fairShare(ready, limit, options.weights ?? DEFAULT_LANE_WEIGHTS), owner, until);
    });
  }

  async claim(owner: string, seqs: readonly number[], leaseMs: number, now = Date.now()): Promise<Lease[]> {
    if (seqs.length === 0) return [];
    return this.#tx(async (c) => {
      const { rows } = await c.query<{ seq: string }>(
        "select seq from spool where seq = any($1::bigint[]) and state = 'PENDING' and not suspect and not_before <= $2 order by seq for no key update skip locked",
        [seqs, int(now)],
      );
      const ready = new Set(rows.map((r) => Number(r.seq)));
      return this.#take(
        c,
        unique(seqs).filter((seq) => ready.has(seq)),
        owner,
        int(now + leaseMs),
      );
    });
  }

  async renew(owner: string, seqs: readonly number[], leaseMs: number): Promise<number[]> {
    if (seqs.length === 0) return [];
    const { rows } = await this.#conn.query<{ seq: string }>(
      updateSpool(
        "select seq from spool where seq = any($1::bigint[]) and lease_owner = $2 and state = 'LEASED'",
        "lease_expires = $3",
        "s.seq",
      ),
      [seqs, owner, int(Date.now() + leaseMs)],
    );
    const held = new Set(rows.map((r) => Number(r.seq)));
    return seqs.filter((seq) => !held.has(seq));
  }

  async isolate(owner: string, seq: number): Promise<void> {
    await this.#conn.query("update spool set solo = true where seq = $1 and lease_owner = $2 and state = 'LEASED'", [
      seq,
      owner,
    ]);
  }

  async #settle(outcomes: DocumentOutcome[], state: "COMPLETED" | "FAILED"): Promise<void> {
    if (outcomes.length === 0) return;
    const seqs = outcomes.map((o) => o.seq);
    await this.#tx(async (c) => {
      if (state === "COMPLETED") {
        await c.query(
          updateSpool(
            "select seq from spool where seq = any($1::bigint[])",
            "state = 'DONE', envelope = null, lease_owner = null, lease_expires = null, wait_for = null",
          ),
          [seqs],
        );
      } else {
        await c.query(
          `with l as (select s.seq, t.error from unnest($1::bigint[], $2::text[]) as t(seq, error) join spool s on s.seq = t.seq order by s.seq for no key update of s)
           update spool s set state = 'DEAD', lease_owner = null, lease_expires = null, wait_for = null, last_error = l.error from l where s.seq = l.seq`,
          [seqs, outcomes.map((o) => (o.error ? `${o.error.code}: ${o.error.message}` : "failed"))],
        );
      }
      // A document that finished while its job was being cancelled is recorded as what it is: indexed.
      const { rows: matched } = await c.query<{ job_id: string; doc_id: string }>(
        updateDocs(
          "state = $8, outcome = l.outcome, error_code = l.code, error_message = l.message, current_stage = l.stage, attempts = d.attempts + 1",
          "unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[]) as t(job_id, doc_id, seq, outcome, code, message, stage)",
          { columns: "t.*", returning: true },
        ),
        [
          outcomes.map((o) => o.jobId),
          outcomes.map((o) => o.docId),
          seqs,
          outcomes.map((o) => o.outcome ?? null),
          outcomes.map((o) => o.error?.code ?? null),
          outcomes.map((o) => o.error?.message ?? null),
          outcomes.map((o) => o.stages[o.stages.length - 1]?.stage ?? null),
          state,
        ],
      );
      // Stage records and checkpoints only for documents whose record matched: a stale run's would
      // overwrite the current version's.
      const current = new Set(matched.map((m) => `${m.job_id}\u0000${m.doc_id}`));
      const written = outcomes.filter((o) => current.has(`${o.jobId}\u0000${o.docId}`));
      if (written.length === 0) return;
      await this.#writeStages(c, written);
      if (state === "COMPLETED") {
        await c.query(
          "delete from checkpoints c using unnest($1::text[], $2::text[]) as t(job_id, doc_id) where c.job_id = t.job_id and c.doc_id = t.doc_id",
          [written.map((o) => o.jobId), written.map((o) => o.docId)],
        );
      }
      await c.query(
        "update jobs set updated_at = now() where id in (select id from jobs where id = any($1::text[]) order by id for no key update)",
        [unique(written.map((o) => o.jobId))],
      );
    });
  }

  async #writeStages(c: PoolClient, outcomes: DocumentOutcome[]): Promise<void> {
    // One row per (job, doc, stage), the last one written winning: an upsert may not touch a row twice.
    const rows = new Map<string, [string, string, DocumentOutcome["stages"][number]]>();
    for (const o of outcomes)
      for (const s of o.stages) rows.set(`${o.jobId}\u0000${o.docId}\u0000${s.stage}`, [o.jobId, o.docId, s]);
    if (rows.size === 0) return;
    const list = [...rows.values()].sort(
      ([aj, ad, as], [bj, bd, bs]) => aj.localeCompare(bj) || ad.localeCompare(bd) || as.stage.localeCompare(bs.stage),
    );
    await c.query(
      `insert into job_stages(job_id, doc_id, stage, state, attempts, started_at, finished_at, error)
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::int[], $6::text[], $7::text[], $8::text[])
       on conflict (job_id, doc_id, stage) do update set state = excluded.state, attempts = excluded.attempts, started_at = excluded.started_at,
         finished_at = excluded.finished_at, error = excluded.error`,
      [
        list.map(([j]) => j),
        list.map(([, d]) => d),
        list.map(([, , s]) => s.stage),
        list.map(([, , s]) => s.state),
        list.map(([, , s]) => s.attempts),
        list.map(([, , s]) => s.startedAt),
        list.map(([, , s]) => s.finishedAt),
        list.map(([, , s]) => s.error),
      ],
    );
  }

  async complete(outcomes: DocumentOutcome[]): Promise<void> {
    await this.#settle(outcomes, "COMPLETED");
  }

  async deadLetter(outcomes: DocumentOutcome[]): Promise<void> {
    await this.#settle(outcomes, "FAILED");
  }

  async release(seq: number, options: ReleaseOptions): Promise<void> {
    await this.#conn.query(
      `update spool set state = 'PENDING', lease_owner = null, lease_expires = null, not_before = $2, last_error = coalesce($3, last_error),
         attempts = greatest(0, attempts - $4) where seq = $1 and state = 'LEASED' and ($5::text is null or lease_owner = $5)`,
      [seq, int(options.notBefore), options.error ?? null, options.refund ? 1 : 0, options.owner ?? null],
    );
  }

  async wait(seq: number, options: WaitOptions): Promise<void> {
    await this.#tx(async (c) => {
      const parked = (
        await c.query<{ job_id: string; doc_id: string }>(
          `update spool set state = 'WAITING', lease_owner = null, lease_expires = null, wait_for = $2, not_before = $3, last_error = coalesce($4, last_error),
             attempts = greatest(0, attempts - 1) where seq = $1 and state = 'LEASED' and ($5::text is null or lease_owner = $5) returning job_id, doc_id`,
          [
            seq,
            options.condition,
            options.until === undefined ? null : int(options.until),
            options.reason ?? null,
            options.owner ?? null,
          ],
        )
      ).rows[0];
      if (!parked) return;
      const { rowCount } = await c.query(
        `update job_documents set state = 'WAITING', current_stage = coalesce($4, current_stage), error_code = '${WAITING_CODE}', error_message = $5, updated_at = now()
         where job_id = $1 and doc_id = $2 and spool_seq = $3 and state = 'PROCESSING'`,
        [parked.job_id, parked.doc_id, seq, options.stage ?? null, options.reason ?? null],
      );
      if (rowCount && options.stages?.length)
        await this.#writeStages(c, [{ seq, jobId: parked.job_id, docId: parked.doc_id, stages: options.stages }]);
    });
  }

  async wake(condition: string): Promise<Dispatchable[]> {
    const { rows } = await this.#conn.query<DispatchRow>(
      wakeSql(
        "select seq from spool where state = 'WAITING' and wait_for = $1 order by seq for no key update",
        ", not_before = 0",
      ),
      [condition],
    );
    return rows.map(toDispatchable);
  }

  async signal(condition: string): Promise<number> {
    return (await this.wake(condition)).length;
  }

  /** Waits whose time has come become PENDING (their documents too); part of every lease and recovery. */
  async #endDueWaits(now: number): Promise<void> {
    await this.#conn.query(
      wakeSql(
        "select seq from spool where state = 'WAITING' and not_before <= $1 order by seq limit 1000 for no key update skip locked",
        "",
      ),
      [int(now)],
    );
  }

  async recover(isAlive: (owner: string) => boolean, now = Date.now()): Promise<Recovered> {
    await this.#endDueWaits(now);
    const owners = await this.#conn.query<{ owner: string }>(
      "select distinct lease_owner as owner from spool where state = 'LEASED'",
    );
    const gone = owners.rows.map((r) => r.owner).filter((owner) => !isAlive(owner));
    // In flight with others when the process died: any of them may have killed it, so none is
    // blamed (the attempt is given back) and each runs alone next. Alone: it is to blame.
    const { rows } = await this.#conn.query<{ solo: boolean }>(
      `with gone as (select seq, solo from spool where state = 'LEASED' and (lease_owner = any($1::text[]) or lease_expires < $2) order by seq for no key update skip locked)
       update spool s set state = 'PENDING', lease_owner = null, lease_expires = null, suspect = true, solo = false,
         attempts = case when s.solo then s.attempts else greatest(0, s.attempts - 1) end,
         crashes = case when s.solo then s.crashes + 1 else s.crashes end,
         last_error = case when s.solo then 'WORKER_CRASHED: the worker process (' || s.lease_owner || ') died while running this document alone' else s.last_error end
       from gone where s.seq = gone.seq returning gone.solo`,
      [gone, int(now)],
    );
    const blamed = rows.filter((r) => r.solo).length;
    return { suspects: rows.length - blamed, blamed };
  }

  async cancelJob(jobId: string): Promise<number> {
    const { rowCount } = await this.#conn.query(
      updateSpool(
        `select seq from spool where job_id = $1 and state in ${LIVE}`,
        "state = 'CANCELLED', lease_owner = null, lease_expires = null, wait_for = null",
      ),
      [jobId],
    );
    return rowCount ?? 0;
  }

  async requeueJob(jobId: string): Promise<number> {
    const { rowCount } = await this.#conn.query(
      updateSpool(
        "select seq from spool where job_id = $1 and state in ('CANCELLED', 'DEAD')",
        "state = 'PENDING', attempts = 0, crashes = 0, suspect = false, not_before = 0, last_error = null",
      ),
      [jobId],
    );
    return rowCount ?? 0;
  }

  async liveCount(jobId: string): Promise<number> {
    return (
      await this.#conn.query<{ n: number }>(
        `select count(*)::int as n from spool where job_id = $1 and state in ${LIVE}`,
        [jobId],
      )
    ).rows[0]!.n;
  }

  async dispatchable(options: {
    afterSeq?: number;
    limit: number;
    jobId?: string;
    seqs?: readonly number[];
  }): Promise<Dispatchable[]> {
    const columns = "seq, lane, coalesce(not_before, 0) as not_before";
    if (options.seqs) {
      if (options.seqs.length === 0) return [];
      const { rows } = await this.#conn.query<DispatchRow>(
        `select ${columns} from spool where seq = any($1::bigint[]) and state = 'PENDING' and not suspect`,
        [options.seqs],
      );
      const bySeq = new Map(rows.map((r) => [Number(r.seq), toDispatchable(r)]));
      return unique(options.seqs).flatMap((seq) => bySeq.get(seq) ?? []);
    }
    const { rows } = await this.#conn.query<DispatchRow>(
      `select ${columns} from spool where seq > $1 and state = 'PENDING' and not suspect and ($2::text is null or job_id = $2) order by seq limit $3`,
      [Math.floor(options.afterSeq ?? 0), options.jobId ?? null, Math.max(0, Math.floor(options.limit))],
    );
    return rows.map(toDispatchable);
  }

  async stats(now = Date.now()): Promise<QueueStats> {
    const row = (
      await this.#conn.query<
        Record<Lane | "leased" | "waiting" | "suspects" | "dead" | "tombstoned", number> &
          Record<`oldest_${Lane}`, string | null> & {
            bytes: string;
            oldest: string | null;
          }
      >(
        `select ${LANES.map((l) => `count(*) filter (where lane = '${l}' and state in ('PENDING', 'LEASED'))::int as ${l}`).join(", ")},
           count(*) filter (where state = 'LEASED')::int as leased,
           count(*) filter (where state = 'WAITING')::int as waiting,
           count(*) filter (where suspect and state in ${LIVE})::int as suspects,
           coalesce(sum(bytes) filter (where state in ${LIVE}), 0)::bigint as bytes,
           min(created_ms) filter (where state in ${LIVE}) as oldest,
           ${LANES.map((l) => `min(created_ms) filter (where lane = '${l}' and state in ${LIVE}) as oldest_${l}`).join(", ")},
           count(*) filter (where state = 'DEAD')::int as dead,
           count(*) filter (where state = 'DONE')::int as tombstoned
         from spool`,
      )
    ).rows[0]!;
    return {
      pending: { high: row.high, normal: row.normal, bulk: row.bulk },
      leased: row.leased,
      waiting: row.waiting,
      suspects: row.suspects,
      bytes: Number(row.bytes),
      oldestAgeSeconds: row.oldest === null ? 0 : Math.max(0, (now - Number(row.oldest)) / 1000),
      oldestAgeSecondsByLane: Object.fromEntries(
        LANES.map((l) => {
          const oldest = row[`oldest_${l}`];
          return [l, oldest === null ? 0 : Math.max(0, (now - Number(oldest)) / 1000)];
        }),
      ) as Record<Lane, number>,
      dead: row.dead,
      tombstoned: row.tombstoned,
    };
  }

  async deadLetters(limit = 100): Promise<DeadLetter[]> {
    const { rows } = await this.#conn.query<{
      seq: string;
      job_id: string;
      doc_id: string;
      lane: Lane;
      attempts: number;
      last_error: string | null;
      created_ms: string;
    }>(
      "select seq, job_id, doc_id, lane, attempts, last_error, created_ms from spool where state = 'DEAD' order by seq limit $1",
      [Math.max(0, Math.floor(limit))],
    );
    return rows.map((r) => ({
      seq: Number(r.seq),
      jobId: r.job_id,
      docId: r.doc_id,
      lane: r.lane,
      attempts: r.attempts,
      error: r.last_error ?? "",
      createdMs: Number(r.created_ms),
    }));
  }

  async retryDeadLetter(seq: number): Promise<{ jobId: string; docId: string } | null> {
    const row = (
      await this.#conn.query<{ job_id: string; doc_id: string }>(
        "update spool set state = 'PENDING', attempts = 0, crashes = 0, suspect = false, not_before = 0 where seq = $1 and state = 'DEAD' returning job_id, doc_id",
        [seq],
      )
    ).rows[0];
    return row ? { jobId: row.job_id, docId: row.doc_id } : null;
  }

  async dropDeadLetter(seq: number): Promise<boolean> {
    return (
      ((
        await this.#conn.query("update spool set state = 'DONE', envelope = null where seq = $1 and state = 'DEAD'", [
          seq,
        ])
      ).rowCount ?? 0) > 0
    );
  }

  async compact(): Promise<number> {
    // Autovacuum gives the space back for reuse; nothing like SQLite's incremental_vacuum is needed.
    return (await this.#conn.query("delete from spool where state = 'DONE'")).rowCount ?? 0;
  }
}
