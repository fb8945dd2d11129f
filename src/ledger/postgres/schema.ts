/**
 * The ledger's tables in PostgreSQL, as versioned migrations (see `migratePostgres`). Sequence
 * columns are `bigint` identities (read back as JS numbers); job times are the server's clock.
 * Stage times stay text, exactly as the worker wrote them.
 *
 * @example
 * await migratePostgres(pool, "ledger", LEDGER_MIGRATIONS);
 */
export const LEDGER_MIGRATIONS: readonly string[] = [
  `
create table jobs (
  id text primary key,
  seq bigint generated always as identity unique,
  collection text not null,
  pipeline text not null,
  spec jsonb not null,
  state text not null,
  sealed boolean not null default false,
  created_by text,
  current_stage text,
  error text,
  created_at timestamptz not null default now(),
  updated_at timestamptz not null default now()
);
-- Retention prunes ended jobs by the time they last changed.
create index jobs_by_state_updated on jobs(state, updated_at);
create table job_documents (
  job_id text not null references jobs(id) on delete cascade,
  doc_id text not null,
  seq bigint not null,
  source text not null,
  spool_seq bigint,
  state text not null,
  current_stage text,
  attempts integer not null default 0,
  outcome text,
  error_code text,
  error_message text,
  updated_at timestamptz not null default now(),
  primary key (job_id, doc_id)
);
create index job_documents_by_state on job_documents(job_id, state);
create table job_stages (
  job_id text not null,
  doc_id text not null,
  stage text not null,
  state text not null,
  attempts integer not null,
  started_at text,
  finished_at text,
  error text,
  primary key (job_id, doc_id, stage)
);
create table checkpoints (
  job_id text not null,
  doc_id text not null,
  node text not null,
  data bytea not null,
  primary key (job_id, doc_id, node)
);
`,
  // Where each source run (collection, source, query) stopped: its next page and its watermark.
  `
create table source_cursors (
  collection text not null,
  source text not null,
  query_key text not null,
  cursor text,
  watermark text,
  job_id text,
  updated_at timestamptz not null default now(),
  primary key (collection, source, query_key)
);
`,
  // The YAML of each pipeline version a job was created with: a job runs its snapshot, not the file.
  `
create table pipeline_snapshots (
  version text primary key,
  yaml text not null,
  created_at timestamptz not null default now()
);
`,
];
