/**
 * The work queue's `spool` table in PostgreSQL, as versioned migrations (see `migratePostgres`).
 * Times are epoch ms (`bigint`, read back as JS numbers); `not_before` is null for a record that
 * waits on its condition with no time limit. The partial indexes serve the hot paths: ready records
 * per lane in seq order (lease), suspects (the solo lease), leases per owner and by expiry
 * (renew, recover), waits by condition and by time (signal, the due-wait sweep), dead letters.
 *
 * @example
 * await migratePostgres(pool, "queue", QUEUE_MIGRATIONS);
 */
export const QUEUE_MIGRATIONS: readonly string[] = [
  `
create table spool (
  seq bigint generated always as identity primary key,
  job_id text not null,
  doc_id text not null,
  lane text not null,
  state text not null,
  envelope bytea,
  bytes integer not null,
  attempts integer not null default 0,
  crashes integer not null default 0,
  suspect boolean not null default false,
  solo boolean not null default false,
  lease_owner text,
  lease_expires bigint,
  not_before bigint default 0,
  wait_for text,
  last_error text,
  created_ms bigint not null
);
create index spool_ready on spool(lane, seq) where state = 'PENDING' and not suspect;
create index spool_suspects on spool(seq) where state = 'PENDING' and suspect;
create index spool_by_job on spool(job_id, state);
create index spool_by_owner on spool(lease_owner) where state = 'LEASED';
create index spool_leased on spool(lease_expires) where state = 'LEASED';
create index spool_waiting on spool(wait_for) where state = 'WAITING';
create index spool_wait_until on spool(not_before) where state = 'WAITING';
create index spool_dead on spool(seq) where state = 'DEAD';
`,
];
