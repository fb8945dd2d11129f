import { defineStage } from "../../pipeline/define-stage.ts";
import { Retriever } from "../retriever.ts";
import { retrieverPlan, RetrieverStageConfigSchema, satOut } from "./retriever-stage.ts";

/**
 * `query.lexical`: BM25 over the query's analysed terms (FTS5's ranking, or the same ranking from
 * the search segments in a reader thread), filtered inside the search.
 */
export const queryLexical = defineStage({
  type: "query.lexical",
  description: "Ranks the collection's chunks by BM25 over the query's terms",
  inputs: { query: "Query" },
  outputs: { rows: "RankedRows" },
  configSchema: RetrieverStageConfigSchema,
  create: (config, services) => ({
    async execute({ query }) {
      const plan = retrieverPlan("lexical", query, config, services.config.retrieval);
      if (!plan) return satOut("lexical");
      const retriever = new Retriever(services.store(), () => services.embedder(), services.config.retrieval);
      const rows = await retriever.lexical(query.collection, query.text, plan.n, query.filter);
      return { rows: { retriever: "lexical", weight: plan.weight, rows } };
    },
  }),
});
