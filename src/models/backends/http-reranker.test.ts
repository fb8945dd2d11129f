import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { isSluiceError } from "../../contracts/errors.ts";
import { HttpReranker } from "./http-reranker.ts";

interface Seen {
  url: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

/** Scores a passage by how many query words it holds, as a cross-encoder would rank them here. */
const overlap = (query: string, passage: string) =>
  query.split(" ").filter((w) => passage.includes(w)).length + passage.length / 1000;

/**
 * A local server speaking both rerank APIs: `/rerank` as TEI does, `/v2/rerank` as Cohere and Jina
 * do (sorted best first, as they answer), `/broken` with a body of the wrong shape, `/down` a 503.
 */
function fakeRerankServer(seen: Seen[]): Server {
  return createServer((req: IncomingMessage, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => (raw += c.toString()));
    req.on("end", () => {
      const body = JSON.parse(raw) as { query: string; texts?: string[]; documents?: string[] };
      seen.push({ url: req.url ?? "", authorization: req.headers.authorization, body });
      res.setHeader("content-type", "application/json");
      if (req.url === "/down") return res.writeHead(503).end('{"error":"model loading"}');
      if (req.url === "/broken") return res.end('{"scores": [1, 2]}');
      const passages = body.texts ?? body.documents ?? [];
      const scored = passages
        .map((p, index) => ({ index, score: overlap(body.query, p) }))
        .sort((a, b) => b.score - a.score);
      if (req.url === "/rerank") return res.end(JSON.stringify(scored));
      res.end(JSON.stringify({ results: scored.map((s) => ({ index: s.index, relevance_score: s.score })) }));
    });
  });
}

describe("HttpReranker", () => {
  const seen: Seen[] = [];
  const server = fakeRerankServer(seen);
  let base = "";
  const passages = ["the gate spools documents", "resume re-runs the failed job", "a job is resumed"];

  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("speaks TEI's /rerank and returns scores in passage order", async () => {
    const reranker = new HttpReranker({ url: `${base}/rerank`, api: "tei" });
    const scores = await reranker.rerank("resume failed job", passages);
    assert.equal(scores.length, 3);
    assert.ok(scores[1]! > scores[2]! && scores[2]! > scores[0]!, JSON.stringify(scores));
    assert.deepEqual(seen.at(-1)!.body, { query: "resume failed job", texts: passages, raw_scores: false });
    assert.equal(seen.at(-1)!.authorization, undefined);
  });

  it("speaks the Cohere/Jina shape with the model and a bearer key", async () => {
    const reranker = new HttpReranker({
      url: `${base}/v2/rerank`,
      api: "cohere",
      model: "rerank-v3.5",
      apiKey: "k-123",
    });
    const scores = await reranker.rerank("resume failed job", passages);
    assert.ok(scores[1]! > scores[0]!);
    assert.deepEqual(seen.at(-1)!.body, {
      model: "rerank-v3.5",
      query: "resume failed job",
      documents: passages,
      top_n: 3,
    });
    assert.equal(seen.at(-1)!.authorization, "Bearer k-123");
    assert.equal(reranker.id, "cohere:rerank-v3.5");
  });

  it("names what went wrong: a server that is down, an answer of the wrong shape, nobody listening", async () => {
    await assert.rejects(
      new HttpReranker({ url: `${base}/down`, api: "tei" }).rerank("q", ["a"]),
      (e: unknown) => isSluiceError(e) && e.code === "MODEL_UNAVAILABLE" && /503/.test(e.message),
    );
    await assert.rejects(
      new HttpReranker({ url: `${base}/broken`, api: "cohere", model: "m" }).rerank("q", ["a"]),
      (e: unknown) => isSluiceError(e) && e.code === "MODEL_BAD_RESPONSE" && /expected \{results/.test(e.message),
    );
    await assert.rejects(
      new HttpReranker({ url: "http://127.0.0.1:1/rerank", api: "tei", timeoutMs: 2000 }).rerank("q", ["a"]),
      (e: unknown) => isSluiceError(e) && e.code === "MODEL_UNAVAILABLE",
    );
    assert.throws(() => new HttpReranker({ url: `${base}/v2/rerank`, api: "cohere" }), /model is required/);
  });
});
