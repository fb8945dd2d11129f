import type { AnswerValue, Query, RankedChunks } from "../contracts/query.ts";
import type { CompiledPipeline } from "../pipeline/build.ts";
import { runPipeline } from "../pipeline/executor.ts";

/** What a query pipeline hands back: its results and, when it wrote one, its answer. */
export interface QueryRun {
  results: RankedChunks;
  answer?: AnswerValue;
}

/**
 * Runs one query through a query pipeline (`pipelines/query.yaml`): every input port gets the
 * query; the results and answer are the outputs the topology names.
 *
 * @example
 * const query = { collection: "docs", text: "resume a job", mode: "hybrid", k: 10, depth: 10 };
 * const { results, answer } = await runQuery(pipeline, { ...query, answer: true, rerank: false });
 */
export async function runQuery(pipeline: CompiledPipeline, query: Query, signal?: AbortSignal): Promise<QueryRun> {
  const inputs = Object.fromEntries(pipeline.runInputs.map((ref) => [ref, query]));
  const run = await runPipeline(pipeline, inputs, {
    jobId: "query",
    docId: "",
    collection: query.collection,
    ...(signal ? { signal } : {}),
  });
  const output = (name: string): unknown => {
    const binding = pipeline.outputs[name];
    return binding ? run.outputs.get(binding.node)?.[binding.port] : undefined;
  };
  const answer = output("answer") as AnswerValue | undefined;
  return { results: output("results") as RankedChunks, ...(answer ? { answer } : {}) };
}
