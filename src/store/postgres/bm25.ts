import type { Pool } from "pg";
import type { ScoredRow } from "../index-store.ts";

// FTS5's bm25() constants, so both index adapters rank alike.
const K1 = 1.2;
const B = 0.75;
/** FTS5's idf where ln((N - df + 0.5) / (df + 0.5)) is not positive: a term in half the chunks or more. */
const WEAK_IDF = 1e-6;

/** A metadata filter as `and <column> in (…)`, its parameters numbered from `first`. */
export type FilterClause = (column: string, first: number) => { sql: string; params: unknown[] };

/** The collection statistics BM25 needs (as the collection row counts them). */
export interface Bm25Collection {
  id: number;
  chunks: number;
  tokens: number;
}

// float8 throughout: a numeric literal (0.75) would make PostgreSQL compute in numeric, 25 % slower.
const f = (x: number) => `${x}::float8`;
const SCORE = `sum(q.idf * p.tf * ${f(K1 + 1)} / (p.tf + ${f(K1 * (1 - B))} + ${f(K1 * B)} * p.length / $4::float8))`;

/** Scores of chunks over the given terms with their idf (`$2` terms, `$3` idf, `$4` avgdl). */
const scoreSql = (filter: string, limit: string, chunks = "") => `select p.chunk_rowid as rowid, ${SCORE} as score
  from index_postings p join unnest($2::text[], $3::float8[]) as q(term, idf) on q.term = p.term
  where p.collection_id = $1${chunks}${filter}
  group by p.chunk_rowid order by score desc, rowid${limit}`;

/**
 * BM25 over the postings of the query's terms, scored as FTS5's bm25() scores: idf
 * ln((N - df + 0.5) / (df + 0.5)), 1e-6 where that is not positive; k1 1.2, b 0.75; N and the
 * average length from the collection's counters.
 *
 * The cost is aggregating every posting of every term, and a term in half the chunks or more
 * ("package" in package descriptions) brings most of them while adding at most 2.2e-6 to a score.
 * So those weak terms are left out of the aggregate and added afterwards, exactly, to the chunks
 * that could still be in the top k (all whose score without them comes within their largest
 * possible sum of the k-th); where the other terms match fewer than k chunks, every term is scored.
 *
 * @example
 * const rows = await searchBm25(pool, { id: 1, chunks: 64_000, tokens: 900_000 }, ["python", "library"], 10, noFilter);
 */
export async function searchBm25(
  pool: Pool,
  collection: Bm25Collection,
  terms: readonly string[],
  k: number,
  filter: FilterClause | null,
): Promise<ScoredRow[]> {
  const unique = [...new Set(terms)];
  const counted = await pool.query<{ term: string; n: number }>({
    name: "sluice_index_df",
    text: "select term, count(*)::float8 as n from index_postings where collection_id = $1 and term = any($2::text[]) group by term",
    values: [collection.id, unique],
  });
  const n = collection.chunks;
  const avgdl = n > 0 ? collection.tokens / n : 1;
  const strong: Array<[string, number]> = [];
  const weak: Array<[string, number]> = [];
  for (const { term, n: df } of counted.rows) {
    const idf = Math.log((n - df + 0.5) / (df + 0.5));
    if (idf > 0) strong.push([term, idf]);
    else weak.push([term, WEAK_IDF]);
  }
  const score = async (scored: Array<[string, number]>, limit: number | null, chunks?: number[]) => {
    const where = filter ? filter("p.chunk_rowid", chunks ? 7 : 6) : { sql: "", params: [] };
    const values: unknown[] = [collection.id, scored.map(([t]) => t), scored.map(([, i]) => i), avgdl];
    values.push(limit ?? null);
    if (chunks) values.push(chunks);
    const rows = await pool.query<{ rowid: string; score: number }>({
      // Prepared once per connection where there is no filter (planning costs about as much as running).
      ...(filter ? {} : { name: `sluice_index_bm25_${chunks ? "chunks" : "all"}` }),
      text: scoreSql(where.sql, " limit $5::bigint", chunks ? " and p.chunk_rowid = any($6::bigint[])" : ""),
      values: [...values, ...where.params],
    });
    return rows.rows.map((r) => ({ rowid: Number(r.rowid), score: r.score }));
  };
  if (strong.length === 0 && weak.length === 0) return [];
  if (weak.length === 0 || strong.length === 0) return score([...strong, ...weak], k);

  // The most the weak terms can add to one chunk's score: tf → ∞ makes a term's part idf (k1 + 1).
  const bound = weak.length * WEAK_IDF * (K1 + 1);
  const fetch = 2 * k + 16;
  const head = await score(strong, fetch);
  const kth = head[k - 1]?.score;
  const reach = kth === undefined ? -Infinity : kth - bound;
  // Fewer than k chunks hold a strong term, or the chunks within reach of the k-th may go on past
  // what was fetched: score everything.
  if (kth === undefined || (head.length === fetch && head[fetch - 1]!.score >= reach))
    return score([...strong, ...weak], k);
  const candidates = head.filter((r) => r.score >= reach);
  const extra = new Map(
    (
      await score(
        weak,
        null,
        candidates.map((r) => r.rowid),
      )
    ).map((r) => [r.rowid, r.score]),
  );
  return candidates
    .map((r) => ({ rowid: r.rowid, score: r.score + (extra.get(r.rowid) ?? 0) }))
    .sort((a, b) => b.score - a.score || a.rowid - b.rowid)
    .slice(0, k);
}
