import { defineStage } from "../../pipeline/define-stage.ts";
import type { DenseEmbedder } from "../../models/ports.ts";
import { ProvidedEmbedding } from "../provided-embedding.ts";
import { Retriever, speaksQuery } from "../retriever.ts";
import { retrieverPlan, RetrieverStageConfigSchema, satOut } from "./retriever-stage.ts";

/**
 * `query.dense`: cosine over the collection's vectors, with the query embedded by the configured
 * embedder, or by the main thread when the query comes with its `embedding`. A collection
 * embedded by another model is EMBEDDER_MISMATCH; in a hybrid query, a query in a language the
 * model was not trained on sits dense out.
 */
export const queryDense = defineStage({
  type: "query.dense",
  description: "Ranks the collection's chunks by cosine to the query's embedding",
  inputs: { query: "Query" },
  outputs: { rows: "RankedRows" },
  configSchema: RetrieverStageConfigSchema,
  create: (config, services) => ({
    async execute({ query }, ctx) {
      const plan = retrieverPlan("dense", query, config, services.config.retrieval);
      if (!plan) return satOut("dense");
      const store = services.store();
      const info = await store.getCollection(query.collection);
      if (!info?.embedder) return { rows: { retriever: "dense", weight: plan.weight, rows: [] } };
      const embedder: DenseEmbedder = query.embedding ? new ProvidedEmbedding(query.embedding) : services.embedder();
      if (query.mode === "hybrid") {
        // A remote embedder learns its model (and languages) from the server when it warms up.
        await embedder.warmUp();
        if (!speaksQuery(embedder.languages, query.text)) return satOut("dense");
      }
      const retriever = new Retriever(store, () => embedder, services.config.retrieval);
      const rows = await retriever.dense(query.collection, query.text, plan.n, ctx.signal, info, query.filter);
      return { rows: { retriever: "dense", weight: plan.weight, rows } };
    },
  }),
});
