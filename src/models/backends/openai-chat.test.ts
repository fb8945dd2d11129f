import assert from "node:assert/strict";
import { after, before, beforeEach, describe, it } from "node:test";
import { SluiceError } from "../../contracts/errors.ts";
import { startFakeOpenAIServer, type FakeOpenAIServer } from "./fake-openai-server.fixture.ts";
import { OpenAIChatModel, type OpenAIChatConfig } from "./openai-chat.ts";

function hasCode(code: string, messageIncludes?: string) {
  return (err: unknown) => {
    assert.ok(err instanceof SluiceError, `expected SluiceError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (messageIncludes)
      assert.ok(err.message.includes(messageIncludes), `"${err.message}" lacks "${messageIncludes}"`);
    return true;
  };
}

void describe("OpenAIChatModel", () => {
  let s: FakeOpenAIServer;
  const config = (overrides: Partial<OpenAIChatConfig> = {}): OpenAIChatConfig => ({
    url: s.url,
    model: "fake-chat",
    timeoutMs: 5_000,
    maxTokens: 256,
    ...overrides,
  });

  before(async () => {
    s = await startFakeOpenAIServer();
  });
  after(async () => {
    await s.close();
  });
  beforeEach(() => {
    s.handler = undefined;
    s.requests.length = 0;
  });

  void it("posts {model, messages, max_tokens} to /v1/chat/completions and returns choices[0].message.content", async () => {
    const messages = [
      { role: "system", content: "Answer from the sources." },
      { role: "user", content: "What is Sluice?" },
    ] as const;
    const answer = await new OpenAIChatModel(config()).complete(messages);
    assert.equal(answer, "echo: What is Sluice?");
    assert.equal(s.requests[0]?.path, "/v1/chat/completions");
    assert.deepEqual(s.requests[0]?.body, { model: "fake-chat", messages, max_tokens: 256 });
  });

  void it("lets the call override max_tokens", async () => {
    await new OpenAIChatModel(config()).complete([{ role: "user", content: "hi" }], { maxTokens: 7 });
    assert.equal((s.requests[0]?.body as { max_tokens: number }).max_tokens, 7);
  });

  void it("maps 400 to MODEL_REJECTED with the server's message and 503 to MODEL_UNAVAILABLE", async () => {
    s.handler = () => ({ status: 400, body: { error: { message: "context length exceeded" } } });
    await assert.rejects(
      new OpenAIChatModel(config()).complete([{ role: "user", content: "hi" }]),
      hasCode("MODEL_REJECTED", "context length exceeded"),
    );
    s.handler = () => ({ status: 503, body: "upstream overloaded" });
    await assert.rejects(
      new OpenAIChatModel(config()).complete([{ role: "user", content: "hi" }]),
      hasCode("MODEL_UNAVAILABLE", "upstream overloaded"),
    );
  });

  void it("rejects a reply without choices[0].message.content as MODEL_BAD_RESPONSE", async () => {
    s.handler = () => ({ status: 200, body: { choices: [] } });
    await assert.rejects(
      new OpenAIChatModel(config()).complete([{ role: "user", content: "hi" }]),
      hasCode("MODEL_BAD_RESPONSE"),
    );
    s.handler = () => ({
      status: 200,
      body: { choices: [{ message: { role: "assistant", content: null, tool_calls: [] } }] },
    });
    await assert.rejects(
      new OpenAIChatModel(config()).complete([{ role: "user", content: "hi" }]),
      hasCode("MODEL_BAD_RESPONSE"),
    );
  });

  void it("sends the Bearer key from apiKeyEnv, and fails with CONFIG_INVALID when the variable is unset", async () => {
    process.env.SLUICE_TEST_CHAT_KEY = "sk-chat";
    try {
      await new OpenAIChatModel(config({ apiKeyEnv: "SLUICE_TEST_CHAT_KEY" })).complete([
        { role: "user", content: "hi" },
      ]);
    } finally {
      delete process.env.SLUICE_TEST_CHAT_KEY;
    }
    assert.equal(s.requests[0]?.headers.authorization, "Bearer sk-chat");
    await assert.rejects(
      new OpenAIChatModel(config({ apiKeyEnv: "SLUICE_TEST_CHAT_KEY" })).complete([{ role: "user", content: "hi" }]),
      hasCode("CONFIG_INVALID", "SLUICE_TEST_CHAT_KEY"),
    );
    assert.equal(s.requests.length, 1);
  });

  void it("times out with MODEL_UNAVAILABLE and honours the caller's abort", async () => {
    s.handler = () => ({ status: 200, body: {}, delayMs: 2_000 });
    await assert.rejects(
      new OpenAIChatModel(config({ timeoutMs: 100 })).complete([{ role: "user", content: "hi" }]),
      hasCode("MODEL_UNAVAILABLE", "within 100 ms"),
    );
    const controller = new AbortController();
    const pending = new OpenAIChatModel(config()).complete([{ role: "user", content: "hi" }], {
      signal: controller.signal,
    });
    controller.abort();
    await assert.rejects(pending, { name: "AbortError" });
  });

  void it("uses id openai:<model>", () => {
    assert.equal(new OpenAIChatModel(config({ model: "gpt-4o-mini" })).id, "openai:gpt-4o-mini");
  });
});
