/** The embedded work queue's table in `ledger.db`, as versioned migrations (see `migrateSqlite`). */
export const QUEUE_MIGRATIONS: readonly string[] = [
  // Version 1 is the spool as earlier Sluice releases wrote it, so their data folders open as they are.
  `
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
`,
  // Crash blame (suspects run alone; a solo lease that dies is to blame) and waits on conditions.
  `
alter table spool add column suspect integer not null default 0;
alter table spool add column solo integer not null default 0;
alter table spool add column crashes integer not null default 0;
alter table spool add column wait_for text;
drop index if exists spool_live;
create index spool_ready on spool(lane, suspect, seq) where state = 'PENDING';
create index spool_leased on spool(lease_expires) where state = 'LEASED';
create index spool_waiting on spool(wait_for) where state = 'WAITING';
create index spool_wait_until on spool(not_before) where state = 'WAITING';
`,
];
