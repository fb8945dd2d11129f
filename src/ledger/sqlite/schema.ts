/** The ledger's tables in `ledger.db`, as versioned migrations (see `migrateSqlite`). */
export const LEDGER_MIGRATIONS: readonly string[] = [
  `
create table if not exists jobs (
  id text primary key,
  seq integer not null unique,
  collection text not null,
  pipeline text not null,
  spec text not null,
  state text not null,
  sealed integer not null default 0,
  created_by text,
  current_stage text,
  error text,
  created_at text not null,
  updated_at text not null
);
create table if not exists job_documents (
  job_id text not null references jobs(id) on delete cascade,
  doc_id text not null,
  seq integer not null,
  source text not null,
  spool_seq integer,
  state text not null,
  current_stage text,
  attempts integer not null default 0,
  outcome text,
  error_code text,
  error_message text,
  updated_at text not null,
  primary key (job_id, doc_id)
);
create index if not exists job_documents_by_state on job_documents(job_id, state);
create table if not exists job_stages (
  job_id text not null,
  doc_id text not null,
  stage text not null,
  state text not null,
  attempts integer not null,
  started_at text,
  finished_at text,
  error text,
  primary key (job_id, doc_id, stage)
) without rowid;
create table if not exists checkpoints (
  job_id text not null,
  doc_id text not null,
  node text not null,
  data blob not null,
  primary key (job_id, doc_id, node)
) without rowid;
`,
  // Retention prunes ended jobs by the time they last changed.
  "create index if not exists jobs_by_state_updated on jobs(state, updated_at);",
  // Where each source run (collection, source, query) stopped: its next page and its watermark.
  `
create table if not exists source_cursors (
  collection text not null,
  source text not null,
  query_key text not null,
  cursor text,
  watermark text,
  job_id text,
  updated_at text not null,
  primary key (collection, source, query_key)
) without rowid;
`,
  // The YAML of each pipeline version a job was created with: a job runs its snapshot, not the file.
  `
create table if not exists pipeline_snapshots (
  version text primary key,
  yaml text not null,
  created_at text not null
) without rowid;
`,
];
