import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../config/load-config.ts";
import { isSluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import { Sluice } from "./sluice.ts";

const DOCS = [
  { id: "best-lexical", text: "archive files: tar archive files, archive many files into one archive file." },
  { id: "middle", text: "an archive of files kept on tape" },
  { id: "zebra", text: "zebra packs files for the archive" },
];

void describe("rerank in the query path (retrieval.rerank)", () => {
  let dir: string;
  const texts: string[][] = [];
  // A TEI-shaped reranker that prefers passages naming a zebra: the opposite of BM25 here.
  const tei = createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      const { texts: passages } = JSON.parse(raw) as { texts: string[] };
      texts.push(passages);
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify(passages.map((p, index) => ({ index, score: p.includes("zebra") ? 0.9 : 0.1 }))));
    });
  });
  let url = "";
  const sluices: Sluice[] = [];
  const open = async (rerank: Record<string, unknown>, readerThreads = 0) => {
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      config: parseConfig({ retrieval: { rerank } }),
      embedder: new HashEmbedder({ dimensions: 32 }),
      readerThreads,
    });
    sluices.push(sluice);
    return sluice;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-rerank-"));
    await new Promise<void>((resolve) => tei.listen(0, "127.0.0.1", resolve));
    url = `http://127.0.0.1:${(tei.address() as AddressInfo).port}/rerank`;
    const sluice = await open({});
    const job = await sluice.submitDocuments({ collection: "c", documents: DOCS });
    await sluice.runJob(job.id);
  });
  after(async () => {
    for (const s of sluices) await s.close();
    await new Promise<void>((resolve) => tei.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  });

  void it("is off by default: BM25's order, no rerankedBy", async () => {
    const response = await sluices[0]!.query({ collection: "c", query: "archive files", mode: "lexical" });
    assert.equal(response.results[0]!.docId, "best-lexical");
    assert.equal(response.rerankedBy, undefined);
  });

  for (const readerThreads of [0, 1]) {
    void it(`an HTTP reranker reorders the candidates and the answer cites its order (reader threads: ${readerThreads})`, async () => {
      const sluice = await open(
        { enabled: true, backend: "http", candidates: 3, http: { url, api: "tei" } },
        readerThreads,
      );
      const asked = texts.length;
      const response = await sluice.query({ collection: "c", query: "archive files", mode: "lexical", k: 2 });
      assert.deepEqual(texts.length, asked + 1);
      assert.equal(texts.at(-1)!.length, 3, "all three candidates went to the reranker");
      assert.equal(response.results.length, 2);
      assert.equal(response.results[0]!.docId, "zebra");
      assert.equal(response.results[0]!.score, 0.9);
      assert.match(response.rerankedBy ?? "", /^tei:127\.0\.0\.1:\d+$/);
      assert.equal(response.answer?.citations[0]?.docId, "zebra");
      // A query can turn it off.
      const plain = await sluice.query({ collection: "c", query: "archive files", mode: "lexical", rerank: false });
      assert.equal(plain.results[0]!.docId, "best-lexical");
      assert.equal(texts.length, asked + 1);
    });
  }

  void it("the model plane's reranker answers a query that asks for rerank", async () => {
    const response = await sluices[0]!.query({ collection: "c", query: "zebra", rerank: true, answer: false });
    assert.match(response.rerankedBy ?? "", /^cosine:/);
    assert.equal(response.results[0]!.docId, "zebra");
  });

  void it("an API key variable that is not set is named", async () => {
    const sluice = await open({
      enabled: true,
      backend: "http",
      http: { url, api: "cohere", model: "m", apiKeyEnv: "SLUICE_TEST_NO_SUCH_KEY" },
    });
    await assert.rejects(
      sluice.query({ collection: "c", query: "archive" }),
      (e: unknown) => isSluiceError(e) && e.code === "CONFIG_INVALID" && /SLUICE_TEST_NO_SUCH_KEY/.test(e.message),
    );
  });

  void it("backend http without http settings is refused when the config is read", () => {
    assert.throws(() => parseConfig({ retrieval: { rerank: { backend: "http" } } }), /needs retrieval\.rerank\.http/);
  });
});
