import { StageRegistry } from "../../pipeline/registry.ts";
import { queryAnswer } from "./query-answer.ts";
import { queryDense } from "./query-dense.ts";
import { queryFuse } from "./query-fuse.ts";
import { queryLexical } from "./query-lexical.ts";
import { queryRerank } from "./query-rerank.ts";
import { querySparse } from "./query-sparse.ts";

/** The stage types of query pipelines (`pipelines/query.yaml`): retrievers, fusion, rerank, answer. */
export const queryStages = [queryLexical, queryDense, querySparse, queryFuse, queryRerank, queryAnswer];

/** A registry of the query stages alone: what a reader thread builds query pipelines from. */
export function queryStageRegistry(): StageRegistry {
  return new StageRegistry().register(...queryStages);
}

export { queryLexical, queryDense, querySparse, queryFuse, queryRerank, queryAnswer };
