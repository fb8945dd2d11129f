import { termRetrieverStage } from "./retriever-stage.ts";

/**
 * `query.lexical`: BM25 over the query's analysed terms (FTS5's ranking, or the same ranking from
 * the search segments in a reader thread), filtered inside the search.
 */
export const queryLexical = termRetrieverStage(
  "lexical",
  "Ranks the collection's chunks by BM25 over the query's terms",
  (retriever, query, n) => retriever.lexical(query.collection, query.text, n, query.filter),
);
