import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { SluiceError } from "../../contracts/errors.ts";
import { assertSameVector, describeDenseEmbedderConformance } from "../conformance.test-suite.ts";
import { startFakeOpenAIServer, type FakeOpenAIServer } from "./fake-openai-server.fixture.ts";
import { OpenAIEmbedder, type OpenAIEmbedderConfig } from "./openai-embedder.ts";
import { resolveOpenAIEndpoint } from "./openai-http.ts";

let serverPromise: Promise<FakeOpenAIServer> | undefined;
const server = () => (serverPromise ??= startFakeOpenAIServer({ dimensions: 64 }));
after(async () => (await server()).close());

function config(url: string, overrides: Partial<OpenAIEmbedderConfig> = {}): OpenAIEmbedderConfig {
  return { url, model: "fake-embed", dimensions: 64, batchSize: 8, timeoutMs: 5_000, ...overrides };
}

function hasCode(code: string, messageIncludes?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof SluiceError, `expected SluiceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (messageIncludes)
      assert.ok(err.message.includes(messageIncludes), `"${err.message}" lacks "${messageIncludes}"`);
    return true;
  };
}

describeDenseEmbedderConformance(
  "openai (local fake server)",
  async () => new OpenAIEmbedder(config((await server()).url)),
);

void describe("OpenAIEmbedder", () => {
  let s: FakeOpenAIServer;
  before(async () => {
    s = await server();
  });
  beforeEach(() => {
    s.handler = undefined;
    s.requests.length = 0;
  });

  void it("returns the server's vectors sorted by index and normalised", async () => {
    const texts = ["alpha beta", "gamma", "delta epsilon zeta"];
    const vectors = await new OpenAIEmbedder(config(s.url)).embed(texts);
    for (const [i, text] of texts.entries()) assertSameVector(vectors[i], s.hash.embedOne(text), 1e-6, text);
  });

  void it("posts {model, input} to /v1/embeddings in batches of batchSize", async () => {
    await new OpenAIEmbedder(config(s.url, { batchSize: 2 })).embed(["a", "b", "c", "d", "e"]);
    assert.deepEqual(
      s.requests.map((r) => [r.method, r.path]),
      [
        ["POST", "/v1/embeddings"],
        ["POST", "/v1/embeddings"],
        ["POST", "/v1/embeddings"],
      ],
    );
    assert.deepEqual(
      s.requests.map((r) => r.body),
      [
        { model: "fake-embed", input: ["a", "b"] },
        { model: "fake-embed", input: ["c", "d"] },
        { model: "fake-embed", input: ["e"] },
      ],
    );
  });

  void it("accepts a base URL that already ends in /v1 or /v1/embeddings", async () => {
    await new OpenAIEmbedder(config(`${s.url}/v1/`)).embed(["x"]);
    await new OpenAIEmbedder(config(`${s.url}/v1/embeddings`)).embed(["x"]);
    assert.deepEqual(
      s.requests.map((r) => r.path),
      ["/v1/embeddings", "/v1/embeddings"],
    );
  });

  void it("rejects vectors of the wrong length with MODEL_BAD_RESPONSE naming expected and got", async () => {
    await assert.rejects(
      new OpenAIEmbedder(config(s.url, { dimensions: 32 })).embed(["x"]),
      hasCode("MODEL_BAD_RESPONSE", "expected 32 dimensions"),
    );
    await assert.rejects(
      new OpenAIEmbedder(config(s.url, { dimensions: 32 })).embed(["x"]),
      hasCode("MODEL_BAD_RESPONSE", "got 64"),
    );
  });

  void it("rejects a reply with too few vectors or a non-JSON body as MODEL_BAD_RESPONSE", async () => {
    s.handler = () => ({ status: 200, body: { data: [{ index: 0, embedding: new Array(64).fill(1) }] } });
    await assert.rejects(
      new OpenAIEmbedder(config(s.url)).embed(["x", "y"]),
      hasCode("MODEL_BAD_RESPONSE", "1 vectors for 2 inputs"),
    );
    s.handler = () => ({ status: 200, body: "<html>proxy login</html>" });
    await assert.rejects(new OpenAIEmbedder(config(s.url)).embed(["x"]), hasCode("MODEL_BAD_RESPONSE", "not JSON"));
  });

  void it("maps HTTP 500 and 429 to retryable MODEL_UNAVAILABLE", async () => {
    s.handler = () => ({ status: 500, body: { error: { message: "GPU on fire" } } });
    await assert.rejects(
      new OpenAIEmbedder(config(s.url)).embed(["x"]),
      (err) => hasCode("MODEL_UNAVAILABLE", "GPU on fire")(err) && (err as SluiceError).retryable,
    );
    s.handler = () => ({ status: 429, body: { error: { message: "slow down" } } });
    await assert.rejects(new OpenAIEmbedder(config(s.url)).embed(["x"]), hasCode("MODEL_UNAVAILABLE", "HTTP 429"));
  });

  void it("maps HTTP 400 to MODEL_REJECTED carrying the server's message", async () => {
    s.handler = () => ({
      status: 400,
      body: { error: { message: "input exceeds 8192 tokens", type: "invalid_request_error" } },
    });
    await assert.rejects(
      new OpenAIEmbedder(config(s.url)).embed(["x"]),
      (err) => hasCode("MODEL_REJECTED", "input exceeds 8192 tokens")(err) && !(err as SluiceError).retryable,
    );
  });

  void it("maps a refused connection to MODEL_UNAVAILABLE", async () => {
    const dead = await startFakeOpenAIServer();
    await dead.close();
    await assert.rejects(
      new OpenAIEmbedder(config(dead.url)).embed(["x"]),
      hasCode("MODEL_UNAVAILABLE", "unreachable"),
    );
  });

  void it("times out after timeoutMs with MODEL_UNAVAILABLE", async () => {
    s.handler = () => ({ status: 200, body: {}, delayMs: 2_000 });
    const started = Date.now();
    await assert.rejects(
      new OpenAIEmbedder(config(s.url, { timeoutMs: 100 })).embed(["x"]),
      hasCode("MODEL_UNAVAILABLE", "within 100 ms"),
    );
    assert.ok(Date.now() - started < 1_500);
  });

  void it("rethrows the caller's abort as an AbortError, not a model error", async () => {
    s.handler = () => ({ status: 200, body: {}, delayMs: 2_000 });
    const controller = new AbortController();
    const pending = new OpenAIEmbedder(config(s.url)).embed(["x"], { signal: controller.signal });
    setTimeout(() => controller.abort(), 50);
    await assert.rejects(pending, { name: "AbortError" });
  });

  void it("sends the key from apiKeyEnv as a Bearer token, and no header without apiKeyEnv", async () => {
    process.env.SLUICE_TEST_EMBED_KEY = "sk-test-123";
    try {
      await new OpenAIEmbedder(config(s.url, { apiKeyEnv: "SLUICE_TEST_EMBED_KEY" })).embed(["x"]);
    } finally {
      delete process.env.SLUICE_TEST_EMBED_KEY;
    }
    await new OpenAIEmbedder(config(s.url)).embed(["x"]);
    assert.equal(s.requests[0]?.headers.authorization, "Bearer sk-test-123");
    assert.equal(s.requests[1]?.headers.authorization, undefined);
  });

  void it("fails warmUp with CONFIG_INVALID naming a missing key variable, before any request", async () => {
    delete process.env.SLUICE_TEST_MISSING_KEY;
    const embedder = new OpenAIEmbedder(config(s.url, { apiKeyEnv: "SLUICE_TEST_MISSING_KEY" }));
    await assert.rejects(embedder.warmUp(), hasCode("CONFIG_INVALID", "SLUICE_TEST_MISSING_KEY"));
    await assert.rejects(embedder.embed(["x"]), hasCode("CONFIG_INVALID", "SLUICE_TEST_MISSING_KEY"));
    assert.equal(s.requests.length, 0);
  });

  void it("uses id openai:<model> and the configured dimensions", () => {
    const embedder = new OpenAIEmbedder(config(s.url, { model: "text-embedding-3-small", dimensions: 1536 }));
    assert.equal(embedder.id, "openai:text-embedding-3-small");
    assert.equal(embedder.dimensions, 1536);
  });
});

void describe("resolveOpenAIEndpoint", () => {
  void it("applies the documented rule", () => {
    const cases: Array<[string, string]> = [
      ["http://h:8000", "http://h:8000/v1/embeddings"],
      ["http://h:8000/", "http://h:8000/v1/embeddings"],
      ["https://api.openai.com/v1", "https://api.openai.com/v1/embeddings"],
      ["https://api.openai.com/v1/", "https://api.openai.com/v1/embeddings"],
      ["http://h/proxy/openai/v1/embeddings", "http://h/proxy/openai/v1/embeddings"],
      ["http://h/proxy", "http://h/proxy/v1/embeddings"],
      ["http://h/api/v2?key=1", "http://h/api/v2/embeddings?key=1"],
    ];
    for (const [base, expected] of cases) assert.equal(resolveOpenAIEndpoint(base, "embeddings"), expected, base);
    assert.equal(resolveOpenAIEndpoint("http://h/v1", "chat/completions"), "http://h/v1/chat/completions");
    assert.equal(
      resolveOpenAIEndpoint("http://h/v1/chat/completions", "chat/completions"),
      "http://h/v1/chat/completions",
    );
  });
});
