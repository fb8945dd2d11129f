import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";

/**
 * `query.answer`: a cited answer from the best `k` results by the configured answerer
 * (extractive, or a chat model); nothing when the query asks for none (`answer: false`, or a
 * later page).
 */
export const queryAnswer = defineStage({
  type: "query.answer",
  description: "Writes a cited answer from the best results (when the query asks for one)",
  inputs: { query: "Query", results: "RankedChunks" },
  outputs: { answer: "Answer?" },
  configSchema: z.object({}).strict(),
  create: (_config, services) => ({
    async execute({ query, results }, ctx) {
      if (!query.answer) return {};
      return {
        answer: await services.answerer().answer(query.text, results.hits.slice(0, query.k), { signal: ctx.signal }),
      };
    },
  }),
});
