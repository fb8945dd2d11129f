/**
 * What running a query as a pipeline costs: the same 1,000 Debian queries, in process over the
 * warmed search segments of the index `npm run bench:query` builds, through the Retriever and the
 * extractive answer called directly, and through `pipelines/query.yaml` (runQuery), three rounds
 * each, lexical and hybrid. Prints ms per query; final JSON line.
 *
 *   npm run bench:query-pipeline [-- --docs 64000 --queries 1000 --pipeline my-query.yaml]
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { parseConfig } from "../src/config/load-config.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { buildPipeline } from "../src/pipeline/build.ts";
import type { StageServices } from "../src/pipeline/services.ts";
import { loadTopology } from "../src/pipeline/topology.ts";
import { ExtractiveAnswerer } from "../src/retrieval/answer/extractive-answerer.ts";
import { Retriever } from "../src/retrieval/retriever.ts";
import { runQuery } from "../src/retrieval/run-query.ts";
import { queryStageRegistry } from "../src/retrieval/stages/index.ts";
import { SegmentedIndexStore } from "../src/store/segments/segmented-index-store.ts";
import { SqliteIndexStore } from "../src/store/sqlite/sqlite-index-store.ts";
import { debianQueries } from "./corpus.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "64000" },
    queries: { type: "string", default: "1000" },
    /** Another query pipeline's YAML file, to measure it instead of the shipped one. */
    pipeline: { type: "string" },
  },
});
const home = join(ROOT, "bench", ".cache", `query-${values.docs}`);
if (!existsSync(join(home, "ready"))) throw new Error(`no index in ${home}: run npm run bench:query first`);

const config = parseConfig({ embedder: { backend: "hash", dimensions: 256 } });
const store = new SegmentedIndexStore(new SqliteIndexStore(join(home, "data", "index.db")), { quietMs: 0 });
await store.open();
await store.warm();
const embedder = new HashEmbedder({ dimensions: 256 });
const answerer = new ExtractiveAnswerer({ sentences: 3 });
const unused = (what: string) => () => {
  throw new Error(`${what} is not used by this bench`);
};
const services: StageServices = {
  config,
  dataDir: home,
  store: () => store,
  embedder: () => embedder,
  sparseEncoder: unused("the sparse encoder"),
  ocr: unused("OCR"),
  reranker: unused("the reranker"),
  answerer: () => answerer,
};
const yaml = readFileSync(values.pipeline ?? join(ROOT, "pipelines", "query.yaml"), "utf8");
const pipeline = buildPipeline(loadTopology(yaml, values.pipeline ?? "query.yaml"), queryStageRegistry(), services);
const retriever = new Retriever(store, () => embedder, config.retrieval);
const queries = debianQueries().slice(0, Number(values.queries));

const results: Record<string, { direct_ms: number; pipeline_ms: number }> = {};
for (const mode of ["lexical", "hybrid"] as const) {
  const direct: number[] = [];
  const piped: number[] = [];
  for (let round = 0; round < 3; round++) {
    let t = performance.now();
    for (const q of queries) await answerer.answer(q.text, await retriever.retrieve("debian", q.text, { mode, k: 10 }));
    direct.push((performance.now() - t) / queries.length);
    t = performance.now();
    for (const q of queries)
      await runQuery(pipeline, {
        collection: "debian",
        text: q.text,
        mode,
        k: 10,
        depth: 10,
        answer: true,
        rerank: false,
      });
    piped.push((performance.now() - t) / queries.length);
  }
  // The best of three rounds: the first warms caches and the JIT.
  results[mode] = {
    direct_ms: Number(Math.min(...direct).toFixed(3)),
    pipeline_ms: Number(Math.min(...piped).toFixed(3)),
  };
  console.log(
    `${mode} + answer: direct ${results[mode].direct_ms} ms, pipeline ${results[mode].pipeline_ms} ms a query`,
  );
}
await store.close();
console.log(JSON.stringify({ queries: queries.length, results }));
