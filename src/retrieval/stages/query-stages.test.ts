import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import { z } from "zod";
import { defineStage } from "../../pipeline/define-stage.ts";
import { isSluiceError } from "../../contracts/errors.ts";
import type { Query, RankedChunks } from "../../contracts/query.ts";
import type { Reranker } from "../../models/ports.ts";
import { buildPipeline } from "../../pipeline/build.ts";
import { testServices } from "../../pipeline/services.fixture.ts";
import { loadTopology } from "../../pipeline/topology.ts";
import type { StoredChunk } from "../../store/index-store.ts";
import { queryStageRegistry } from "./index.ts";
import { queryAnswer } from "./query-answer.ts";
import { queryRerank } from "./query-rerank.ts";

const PIPELINES = join(import.meta.dirname, "..", "..", "..", "pipelines");
const registry = queryStageRegistry();

const query = (over: Partial<Query> = {}): Query => ({
  collection: "c",
  text: "archive files",
  mode: "hybrid",
  k: 2,
  depth: 2,
  answer: true,
  rerank: false,
  ...over,
});

const chunk = (rowid: number, text: string): StoredChunk => ({
  rowid,
  chunkId: `d${rowid}#0`,
  docId: `d${rowid}`,
  ordinal: 0,
  text,
  page: null,
  source: `d${rowid}`,
  title: "",
});

const ranked = (...texts: string[]): RankedChunks => ({
  hits: texts.map((text, i) => ({ rowid: i + 1, score: texts.length - i, chunk: chunk(i + 1, text) })),
});

const rejects = (yaml: string, message: RegExp) =>
  assert.throws(
    () => buildPipeline(loadTopology(yaml), registry, testServices()),
    (err: unknown) => isSluiceError(err) && err.code === "PIPELINE_INVALID" && message.test(err.message),
  );

const HEAD = `version: 1
name: q
inputs: [lexical.query, fuse.query]
nodes:
  - { name: lexical, type: query.lexical }
  - { name: fuse, type: query.fuse }
connections:
  - { sender: lexical.rows, receiver: fuse.lexical }
`;

void describe("query pipelines: kinds, outputs and the query stages", () => {
  void it("the shipped query.yaml builds as a query pipeline naming its results and answer", async () => {
    const text = await readFile(join(PIPELINES, "query.yaml"), "utf8");
    const pipeline = buildPipeline(loadTopology(text, "query.yaml"), registry, testServices());
    assert.equal(pipeline.kind, "query");
    assert.deepEqual(pipeline.outputs, {
      results: { node: "rerank", port: "results", type: "RankedChunks" },
      answer: { node: "answer", port: "answer", type: "Answer" },
    });
  });

  void it("a query pipeline must name its results, with the right types, and no outputs it does not have", () => {
    rejects(HEAD, /outputs\.results: a query pipeline must name the RankedChunks output that holds its results/);
    rejects(
      `${HEAD}outputs:\n  results: lexical.rows\n`,
      /outputs\.results: lexical\.rows is RankedRows, but results must be RankedChunks/,
    );
    rejects(
      `${HEAD}outputs:\n  results: fuse.results\n  best: fuse.results\n`,
      /unknown output "best"; a query pipeline's outputs are: results, answer/,
    );
    rejects(
      `${HEAD}outputs:\n  results: fuse.nothing\n`,
      /output "fuse\.nothing": node "fuse" \(query\.fuse\) has no output "nothing"; its outputs are: results \(RankedChunks\)/,
    );
    const ok = buildPipeline(loadTopology(`${HEAD}outputs:\n  results: fuse.results\n`), registry, testServices());
    assert.equal(ok.kind, "query");
  });

  void it("an ingest pipeline hands nothing back, and a pipeline's inputs are all Query ports or none", () => {
    const sink = defineStage({
      type: "test.sink",
      description: "takes a document reference",
      inputs: { ref: "DocumentRef" },
      outputs: {},
      configSchema: z.object({}).strict(),
      create: () => ({ execute: () => Promise.resolve({}) }),
    });
    const mixed = queryStageRegistry().register(sink);
    const build = (yaml: string) => buildPipeline(loadTopology(yaml), mixed, testServices());
    const ingest = `version: 1\nname: i\ninputs: [sink.ref]\nnodes:\n  - { name: sink, type: test.sink }\n`;
    assert.equal(build(ingest).kind, "ingest");
    assert.throws(
      () => build(`${ingest}outputs:\n  results: sink.ref\n`),
      /outputs: an ingest pipeline hands nothing back \(its stages write the index\); remove "results"/,
    );
    const mixedInputs = `version: 1
name: m
inputs: [lexical.query, fuse.query, sink.ref]
nodes:
  - { name: lexical, type: query.lexical }
  - { name: fuse, type: query.fuse }
  - { name: sink, type: test.sink }
connections:
  - { sender: lexical.rows, receiver: fuse.lexical }
outputs:
  results: fuse.results
`;
    assert.throws(() => build(mixedInputs), /inputs: a query pipeline's inputs are all Query ports; sink\.ref is not/);
  });

  void it("query.rerank passes the best k through untouched unless the query asks for a rerank", async () => {
    let calls = 0;
    const reranker: Reranker = {
      id: "fake",
      warmUp: () => Promise.resolve(),
      close: () => Promise.resolve(),
      rerank: (_q, passages) => {
        calls++;
        return Promise.resolve(passages.map((p) => (p.includes("zebra") ? 1 : 0)));
      },
    };
    const stage = queryRerank.create({}, testServices({ reranker: () => reranker }));
    const ctx = { jobId: "q", docId: "", collection: "c", signal: new AbortController().signal, attempt: 1 };
    const results = ranked("archive files", "tar files", "zebra files");
    const plain = await stage.execute({ query: query({ k: 2 }), results }, ctx);
    assert.deepEqual(
      plain.results.hits.map((h) => h.rowid),
      [1, 2],
    );
    assert.equal(plain.results.rerankedBy, undefined);
    assert.equal(calls, 0);
    const reranked = await stage.execute({ query: query({ k: 2, rerank: true }), results }, ctx);
    assert.deepEqual(
      reranked.results.hits.map((h) => [h.rowid, h.score]),
      [
        [3, 1],
        [1, 0],
      ],
    );
    assert.equal(reranked.results.rerankedBy, "fake");
  });

  void it("query.answer writes nothing when the query asks for none, and cites the best k when it does", async () => {
    const { ExtractiveAnswerer } = await import("../answer/extractive-answerer.ts");
    const stage = queryAnswer.create({}, testServices({ answerer: () => new ExtractiveAnswerer({ sentences: 1 }) }));
    const ctx = { jobId: "q", docId: "", collection: "c", signal: new AbortController().signal, attempt: 1 };
    const results = ranked("Archive files with tar.", "Zebra files.", "Other archive files.");
    assert.deepEqual(await stage.execute({ query: query({ answer: false }), results }, ctx), {});
    const { answer } = await stage.execute({ query: query({ k: 1 }), results }, ctx);
    assert.deepEqual(
      answer?.citations.map((c) => c.docId),
      ["d1"],
    );
  });
});
