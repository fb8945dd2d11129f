import { defineStage } from "../../pipeline/define-stage.ts";
import { Retriever } from "../retriever.ts";
import { retrieverPlan, RetrieverStageConfigSchema, satOut } from "./retriever-stage.ts";

/**
 * `query.sparse`: the query's terms weighted by idf against the collection's sparse term weights
 * (written by `hybrid-sparse`'s `embed.sparse`); a collection without them is VALIDATION_FAILED.
 */
export const querySparse = defineStage({
  type: "query.sparse",
  description: "Ranks the collection's chunks by their sparse term weights against the query's terms",
  inputs: { query: "Query" },
  outputs: { rows: "RankedRows" },
  configSchema: RetrieverStageConfigSchema,
  create: (config, services) => ({
    async execute({ query }) {
      const plan = retrieverPlan("sparse", query, config, services.config.retrieval);
      if (!plan) return satOut("sparse");
      const retriever = new Retriever(services.store(), () => services.embedder(), services.config.retrieval);
      const rows = await retriever.sparse(query.collection, query.text, plan.n, query.filter);
      return { rows: { retriever: "sparse", weight: plan.weight, rows } };
    },
  }),
});
