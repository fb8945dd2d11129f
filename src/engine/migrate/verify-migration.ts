import type { Pool } from "pg";
import type { PostgresIndexStore } from "../../store/postgres/postgres-index-store.ts";
import { vectorTable } from "../../store/postgres/schema.ts";
import type { EmbeddedSource, SourceCollection } from "./embedded-source.ts";

/** What the verification compared, and every difference it found (none: the copy is whole). */
export interface VerificationReport {
  ok: boolean;
  /**
   * One line per difference, naming the collection or table, e.g.
   * `collection "c": 10 documents in the source, 9 in PostgreSQL`.
   */
  mismatches: string[];
  /** Chunks whose vector and text were compared, over every collection. */
  sampledChunks: number;
}

// The vectors travel as decimal text that round-trips float32 exactly; the tolerance only
// forgives a server that rounds differently.
const TOLERANCE = 1e-6;

interface TargetChunk {
  doc_id: string;
  ordinal: number;
  text: string;
  v: number[] | null;
}

/**
 * The chunks of a sample in PostgreSQL, by (doc id, ordinal): chunk rowids differ between the two
 * databases. Read straight from the index's tables, since the index port looks chunks up by rowid
 * only.
 */
async function targetChunks(
  index: PostgresIndexStore,
  collection: SourceCollection,
  sample: ReadonlyArray<{ docId: string; ordinal: number }>,
): Promise<Map<string, TargetChunk>> {
  const pool = index.pool;
  const row = (
    await pool.query<{ id: string; embedder: string | null }>(
      "select id, embedder from index_collections where name = $1",
      [collection.name],
    )
  ).rows[0];
  if (!row) return new Map();
  const vectors = row.embedder === null ? "null::real[]" : "v.embedding::real[]";
  const join = row.embedder === null ? "" : `left join ${vectorTable(row.id)} v on v.chunk_rowid = c.id`;
  const rows = await pool.query<TargetChunk>(
    `select c.doc_id, c.ordinal, c.text, ${vectors} as v from index_chunks c ${join}
     join unnest($2::text[], $3::int[]) as s(doc_id, ordinal) on s.doc_id = c.doc_id and s.ordinal = c.ordinal
     where c.collection_id = $1`,
    [row.id, sample.map((s) => s.docId), sample.map((s) => s.ordinal)],
  );
  return new Map(rows.rows.map((r) => [`${r.doc_id}#${r.ordinal}`, r]));
}

function sameVector(a: Float32Array, b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (Math.abs(a[i]! - b[i]!) > TOLERANCE) return false;
  return true;
}

async function verifyCollection(
  source: EmbeddedSource,
  index: PostgresIndexStore,
  collection: SourceCollection,
  sampleSize: number,
  mismatches: string[],
): Promise<number> {
  const name = `collection "${collection.name}"`;
  const info = await index.getCollection(collection.name);
  if (!info) {
    mismatches.push(`${name} is missing in PostgreSQL`);
    return 0;
  }
  for (const what of ["documents", "chunks"] as const)
    if (info[what] !== collection[what])
      mismatches.push(`${name}: ${collection[what]} ${what} in the source, ${info[what]} in PostgreSQL`);
  if (
    collection.embedder !== null &&
    (info.embedder !== collection.embedder || info.dimensions !== collection.dimensions)
  )
    mismatches.push(
      `${name}: vectors from ${collection.embedder} (${collection.dimensions}-d) in the source, ${info.embedder ?? "none"} (${info.dimensions ?? 0}-d) in PostgreSQL`,
    );

  const sample = source.sampleChunks(collection.id, sampleSize);
  const stored = source.vectors(
    collection,
    sample.map((s) => s.rowid),
  );
  const target = await targetChunks(index, collection, sample);
  const differ: string[] = [];
  for (const s of sample) {
    const key = `${s.docId}#${s.ordinal}`;
    const t = target.get(key);
    const vector = stored.get(s.rowid);
    if (!t || t.text !== s.text) differ.push(key);
    else if (vector && (!t.v || !sameVector(vector, t.v))) differ.push(key);
  }
  if (differ.length > 0)
    mismatches.push(
      `${name}: ${differ.length} of ${sample.length} sampled chunks differ (text or vector), e.g. ${differ.slice(0, 3).join(", ")}`,
    );
  return sample.length;
}

/** Compares the job records of the source with those in PostgreSQL (by the source's job ids). */
async function verifyJobs(source: EmbeddedSource, pool: Pool, mismatches: string[]): Promise<void> {
  if (!source.ledgerColumns("jobs")) return;
  const ids = source
    .ledger!.prepare<[], { id: string }>("select id from jobs")
    .all()
    .map((r) => r.id);
  const documents = source.ledger!.prepare<[], { n: number }>("select count(*) as n from job_documents").get()!.n;
  const target = (
    await pool.query<{ jobs: number; documents: number }>(
      `select (select count(*)::int from jobs where id = any($1::text[])) as jobs,
              (select count(*)::int from job_documents where job_id = any($1::text[])) as documents`,
      [ids],
    )
  ).rows[0]!;
  if (target.jobs !== ids.length)
    mismatches.push(`jobs: ${ids.length} in the source, ${target.jobs} of them in PostgreSQL`);
  if (target.documents !== documents)
    mismatches.push(`job documents: ${documents} in the source, ${target.documents} of them in PostgreSQL`);
}

/**
 * Checks a finished copy: per collection, the document and chunk counts and the dense model are
 * equal, and a random sample of chunks (`sampleSize` per collection) has the same text and, within
 * float tolerance, the same vector in PostgreSQL (matched by doc id and ordinal); every job and
 * job document of the source is in PostgreSQL.
 *
 * @example
 * const check = await verifyMigration(source, target.index, target.pool, 100);
 * if (!check.ok) console.error(check.mismatches.join("\n"));
 */
export async function verifyMigration(
  source: EmbeddedSource,
  index: PostgresIndexStore,
  pool: Pool,
  sampleSize: number,
): Promise<VerificationReport> {
  const mismatches: string[] = [];
  let sampledChunks = 0;
  for (const collection of source.collections())
    sampledChunks += await verifyCollection(source, index, collection, sampleSize, mismatches);
  await verifyJobs(source, pool, mismatches);
  return { ok: mismatches.length === 0, mismatches, sampledChunks };
}
