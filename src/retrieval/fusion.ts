import type { ScoredRow } from "../store/index-store.ts";

export interface RankedList {
  name: string;
  weight: number;
  rows: ScoredRow[];
}

/**
 * Reciprocal rank fusion: score(d) = Σ w_i / (k + rank_i(d)). Rank-based, so scores on
 * different scales (bm25, cosine) mix without calibration.
 *
 * @example
 * rrf([{ name: "lexical", weight: 1, rows: lex }, { name: "dense", weight: 1, rows: dense }], 60)
 */
export function rrf(lists: RankedList[], k = 60): ScoredRow[] {
  const scores = new Map<number, number>();
  for (const list of lists) {
    if (list.weight === 0) continue;
    list.rows.forEach((row, i) => scores.set(row.rowid, (scores.get(row.rowid) ?? 0) + list.weight / (k + i + 1)));
  }
  return sortScores(scores);
}

/**
 * Convex combination of min–max normalised scores: Σ w_i · (s − min_i) / (max_i − min_i),
 * weights normalised to sum to 1. A row missing from a list scores 0 there.
 *
 * @example
 * convex([{ name: "lexical", weight: 0.5, rows: lex }, { name: "dense", weight: 0.5, rows: dense }])
 */
export function convex(lists: RankedList[]): ScoredRow[] {
  const total = lists.reduce((a, l) => a + l.weight, 0) || 1;
  const scores = new Map<number, number>();
  for (const list of lists) {
    if (list.weight === 0 || list.rows.length === 0) continue;
    const values = list.rows.map((r) => r.score);
    const min = Math.min(...values);
    const range = Math.max(...values) - min;
    for (const row of list.rows) {
      const norm = range > 0 ? (row.score - min) / range : 1;
      scores.set(row.rowid, (scores.get(row.rowid) ?? 0) + (list.weight / total) * norm);
    }
  }
  return sortScores(scores);
}

function sortScores(scores: Map<number, number>): ScoredRow[] {
  return [...scores].map(([rowid, score]) => ({ rowid, score })).sort((a, b) => b.score - a.score || a.rowid - b.rowid);
}
