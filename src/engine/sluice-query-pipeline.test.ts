import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../config/load-config.ts";
import { isSluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import { RETRIEVAL_MODES } from "../retrieval/retriever.ts";
import { Sluice } from "./sluice.ts";

const DOCS = [
  { id: "spool", text: "The spool keeps every accepted document on disk before the gate says yes." },
  { id: "resume", text: "A failed job resumes from its last good stage; checkpoints hold the stage outputs." },
  { id: "cancel", text: "Cancel stops the work of a job between stages and marks it cancelled." },
  { id: "fusion", text: "Hybrid retrieval fuses lexical, dense and sparse rankings into one." },
  { id: "thai", text: "ภาษาไทย เอกสาร ราชการ" },
];

/** A query pipeline of one retriever: lexical → fuse → answer, no rerank node. */
const LEXICAL_ONLY = `version: 1
name: lexical-only
inputs: [lexical.query, fuse.query, answer.query]
nodes:
  - name: lexical
    type: query.lexical
    config: { weight: 1 }
  - name: fuse
    type: query.fuse
    config: { method: rrf }
  - name: answer
    type: query.answer
connections:
  - { sender: lexical.rows, receiver: fuse.lexical }
  - { sender: fuse.results, receiver: answer.results }
outputs:
  results: fuse.results
  answer: answer.answer
`;

/** Lexical → rerank under a policy with a short timeout. */
const RERANK_TIMEOUT = `version: 1
name: rerank-timeout
policies:
  quick:
    timeoutMs: 300
inputs: [lexical.query, fuse.query, rerank.query]
nodes:
  - name: lexical
    type: query.lexical
  - name: fuse
    type: query.fuse
  - name: rerank
    type: query.rerank
    policy: quick
connections:
  - { sender: lexical.rows, receiver: fuse.lexical }
  - { sender: fuse.results, receiver: rerank.results }
outputs:
  results: rerank.results
`;

void describe("the query path is a pipeline (pipelines/query.yaml)", () => {
  let dir: string;
  const sluices: Sluice[] = [];
  const held: ServerResponse[] = [];
  // A reranker that never answers: only a stage policy's timeout ends the call.
  const hanging = createServer((_req, res) => void held.push(res));
  let hangingUrl = "";
  const open = async (retrieval: Record<string, unknown> = {}, readerThreads = 0) => {
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      cwd: dir,
      config: parseConfig({ retrieval }),
      embedder: new HashEmbedder({ dimensions: 32 }),
      readerThreads,
    });
    sluices.push(sluice);
    return sluice;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-query-pipeline-"));
    await writeFile(join(dir, "lexical-only.yaml"), LEXICAL_ONLY);
    await writeFile(join(dir, "rerank-timeout.yaml"), RERANK_TIMEOUT);
    await new Promise<void>((resolve) => hanging.listen(0, "127.0.0.1", resolve));
    hangingUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/rerank`;
    const sluice = await open();
    const job = await sluice.submitDocuments({ collection: "c", documents: DOCS, pipeline: "hybrid-sparse" });
    await sluice.runJob(job.id);
  });
  after(async () => {
    for (const s of sluices) await s.close();
    for (const res of held) res.destroy();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  for (const readerThreads of [0, 1]) {
    void it(`ranks as the retriever does in every mode, scores included (reader threads: ${readerThreads})`, async () => {
      const sluice = readerThreads === 0 ? sluices[0]! : await open({ segments: { enabled: false } }, readerThreads);
      for (const mode of RETRIEVAL_MODES)
        for (const query of ["resume a failed job", "fuses rankings", "ภาษาไทย"]) {
          const response = await sluice.query({ collection: "c", query, mode, k: 3, answer: false });
          const expected = await sluices[0]!.retriever().retrieve("c", query, { mode, k: 3 });
          assert.deepEqual(
            response.results.map((r) => [r.docId, r.score]),
            expected.map((h) => [h.chunk.docId, h.score]),
            `${mode}: ${query}`,
          );
        }
    });
  }

  for (const readerThreads of [0, 1]) {
    void it(`runs a query pipeline named in retrieval.pipelines, with its own stages and config (reader threads: ${readerThreads})`, async () => {
      const sluice = await open({ pipelines: { "lexical-only": "lexical-only.yaml" } }, readerThreads);
      const response = await sluice.query({ collection: "c", query: "resume a failed job", pipeline: "lexical-only" });
      assert.equal(response.results[0]?.docId, "resume");
      // RRF of one list of weight 1: 1 / (60 + rank), not the convex score of the shipped pipeline.
      assert.equal(response.results[0]?.score, 1 / 61);
      assert.equal(response.answer?.citations[0]?.docId, "resume");
      await assert.rejects(
        sluice.query({ collection: "c", query: "resume", mode: "dense", pipeline: "lexical-only" }),
        (err: unknown) =>
          isSluiceError(err) &&
          err.code === "VALIDATION_FAILED" &&
          /mode "dense": this query pipeline has no dense retriever/.test(err.message),
      );
    });
  }

  void it("a query names a query pipeline, and documents an ingest pipeline: the other kind is PIPELINE_INVALID", async () => {
    const sluice = sluices[0]!;
    await assert.rejects(
      sluice.query({ collection: "c", query: "resume", pipeline: "auto" }),
      (err: unknown) =>
        isSluiceError(err) &&
        err.code === "PIPELINE_INVALID" &&
        /pipeline "auto" is an ingest pipeline; a query runs a query pipeline .*: query$/.test(err.message),
    );
    await assert.rejects(
      sluice.submitDocuments({ collection: "c", documents: DOCS.slice(0, 1), pipeline: "query" }),
      (err: unknown) =>
        isSluiceError(err) &&
        err.code === "PIPELINE_INVALID" &&
        /pipeline "query" is a query pipeline; documents run an ingest pipeline: auto, hybrid-sparse, pdf-two-phase/.test(
          err.message,
        ),
    );
    const stats = await sluice.stats("c");
    assert.equal(stats.documents, DOCS.length, "the refused submit left the collection as it was");
  });

  void it("a query stage runs under its policy: a reranker that never answers times out at the policy's deadline", async () => {
    const sluice = await open({
      pipelines: { "rerank-timeout": "rerank-timeout.yaml" },
      rerank: { backend: "http", http: { url: hangingUrl, api: "tei", timeoutMs: 60_000 } },
    });
    const started = Date.now();
    await assert.rejects(
      sluice.query({ collection: "c", query: "resume a failed job", rerank: true, pipeline: "rerank-timeout" }),
      (err: unknown) =>
        isSluiceError(err) && err.code === "STAGE_TIMEOUT" && /stage "rerank" timed out/.test(err.message),
    );
    assert.ok(Date.now() - started < 30_000, "ended by the policy, not the reranker's own 60 s timeout");
    assert.equal(held.length, 1, "the reranker was called once");
  });
});
