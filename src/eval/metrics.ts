/** Relevance judgments of one query: document id → graded relevance (0 = judged not relevant). */
export type Judgments = Map<string, number>;

/**
 * nDCG@k as BEIR and pytrec_eval compute it: linear gains (the grade), log2 discount, and an
 * ideal ranking over every judged document of the query.
 *
 * @example
 * ndcgAt(["d1", "d7"], new Map([["d1", 2], ["d3", 1]]), 10)
 */
export function ndcgAt(ranking: readonly string[], judged: Judgments, k: number): number {
  let dcg = 0;
  ranking.slice(0, k).forEach((doc, i) => {
    dcg += (judged.get(doc) ?? 0) / Math.log2(i + 2);
  });
  const ideal = [...judged.values()]
    .filter((g) => g > 0)
    .sort((a, b) => b - a)
    .slice(0, k);
  const idcg = ideal.reduce((sum, g, i) => sum + g / Math.log2(i + 2), 0);
  return idcg === 0 ? 0 : dcg / idcg;
}

export function recallAt(ranking: readonly string[], judged: Judgments, k: number): number {
  const relevant = [...judged].filter(([, g]) => g > 0).map(([d]) => d);
  if (relevant.length === 0) return 0;
  const top = new Set(ranking.slice(0, k));
  return relevant.filter((d) => top.has(d)).length / relevant.length;
}

export function mrrAt(ranking: readonly string[], judged: Judgments, k: number): number {
  const i = ranking.slice(0, k).findIndex((d) => (judged.get(d) ?? 0) > 0);
  return i < 0 ? 0 : 1 / (i + 1);
}
