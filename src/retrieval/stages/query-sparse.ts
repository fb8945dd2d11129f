import { termRetrieverStage } from "./retriever-stage.ts";

/**
 * `query.sparse`: the query's terms weighted by idf against the collection's sparse term weights
 * (written by `hybrid-sparse`'s `embed.sparse`); a collection without them is VALIDATION_FAILED.
 */
export const querySparse = termRetrieverStage(
  "sparse",
  "Ranks the collection's chunks by their sparse term weights against the query's terms",
  (retriever, query, n) => retriever.sparse(query.collection, query.text, n, query.filter),
);
