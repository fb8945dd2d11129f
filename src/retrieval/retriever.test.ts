import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../config/load-config.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import type { EmbedOptions } from "../models/ports.ts";
import { documentInput } from "../store/index-store.conformance.ts";
import { SqliteIndexStore } from "../store/sqlite/sqlite-index-store.ts";
import { ExtractiveAnswerer } from "./answer/extractive-answerer.ts";
import { Retriever } from "./retriever.ts";

class EnglishOnly extends HashEmbedder {
  readonly languages = ["en"];
  queries: string[] = [];
  override async embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    if (options?.kind === "query") this.queries.push(...texts);
    return super.embed(texts, options);
  }
}

describe("Retriever", () => {
  const store = new SqliteIndexStore(join(mkdtempSync(join(tmpdir(), "sluice-retr-")), "index.db"));
  const embedder = new EnglishOnly({ dimensions: 64 });
  const retriever = new Retriever(store, () => embedder, parseConfig({}).retrieval);

  before(async () => {
    await store.open();
    const docs = [
      [
        "resume",
        "How do I resume a failed job? Run sluice jobs resume with the job id. Only unfinished documents run again.",
      ],
      ["cancel", "How do I cancel a job? Run sluice jobs cancel. Work stops between stages."],
      ["thai", "ภาษาไทยเป็นภาษาราชการของประเทศไทย"],
    ] as const;
    for (const [id, text] of docs) {
      const input = documentInput(id, [text]);
      const [vector] = await embedder.embed([text]);
      await store.writeDocument("c", { ...input, dense: { model: embedder.id, dimensions: 64, vectors: [vector!] } });
    }
  });
  after(() => store.close());

  it("ranks the matching document first in every mode", async () => {
    for (const mode of ["lexical", "dense", "sparse", "hybrid"] as const) {
      const hits = await retriever.retrieve("c", "resume a failed job", { mode, k: 3 });
      assert.equal(hits[0]?.chunk.docId, "resume", mode);
    }
  });

  it("finds Thai text by a word inside an unspaced sentence", async () => {
    const hits = await retriever.retrieve("c", "ราชการ", { mode: "lexical", k: 3 });
    assert.equal(hits[0]?.chunk.docId, "thai");
  });

  it("leaves an English-only dense model out of hybrid for queries in other languages", async () => {
    embedder.queries = [];
    await retriever.retrieve("c", "ภาษาไทย", { mode: "hybrid", k: 3 });
    assert.deepEqual(embedder.queries, []);
    await retriever.retrieve("c", "resume a job", { mode: "hybrid", k: 3 });
    assert.deepEqual(embedder.queries, ["resume a job"]);
  });

  it("names a missing collection", async () => {
    await assert.rejects(retriever.retrieve("nope", "x"), /collection "nope" does not exist; collections: c/);
  });

  it("answers extractively from the sentence after the matching question, with its citation", async () => {
    const hits = await retriever.retrieve("c", "how do I resume a failed job?", { k: 3 });
    const answer = await new ExtractiveAnswerer({ sentences: 2 }).answer("how do I resume a failed job?", hits);
    assert.match(answer.text, /^Run sluice jobs resume with the job id\. \[1\]/);
    assert.doesNotMatch(answer.text, /How do I resume/, "the question itself is not an answer");
    assert.equal(answer.citations[0]?.docId, "resume");
    assert.equal(answer.citations[0]?.n, 1);
  });
});
