import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { parseConfig } from "../../config/load-config.ts";
import { registerErrorHandling } from "../error-handling.ts";
import { openTestApp, type TestApp } from "../test-app.fixture.ts";
import { clientKey, registerRateLimits } from "./index.ts";
import { MemoryRateLimitStore } from "./memory/memory-rate-limit-store.ts";

interface ErrorJson {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

void describe("rate limits over the real HTTP server (defaults: 10 answered, 120 retrieval-only queries a minute)", () => {
  let t: TestApp;
  let base: string;
  const post = async (url: string, body: unknown) => {
    const res = await fetch(`${base}${url}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, headers: res.headers, text: await res.text() };
  };

  before(async () => {
    t = await openTestApp();
    base = await t.app.listen({ port: 0, host: "127.0.0.1" });
    const upload = await post("/v1/collections/handbook/documents", {
      documents: [{ id: "resume", text: "To resume a failed job run sluice jobs resume with the job id." }],
    });
    assert.equal(upload.status, 202, upload.text);
    await t.sluice.runJob((JSON.parse(upload.text) as { jobId: string }).jobId);
  });
  after(async () => t.close());

  void it("the 11th answered query gets 429 RATE_LIMITED with Retry-After; retrieval-only queries still pass; refused bodies cost nothing", async () => {
    // A body the route refuses with 400 is not counted.
    const invalid = await post("/v1/query", { collection: "handbook", query: "   " });
    assert.equal(invalid.status, 400);

    for (let i = 0; i < 10; i++) {
      // `answer` omitted answers by default, so it counts the same as `"answer": true`.
      const res = await post("/v1/query", {
        collection: "handbook",
        query: "how do I resume a job?",
        ...(i % 2 === 0 ? {} : { answer: true }),
      });
      assert.equal(res.status, 200, `answered query ${i + 1}: ${res.text}`);
      assert.equal(res.headers.get("x-ratelimit-limit"), "10");
      assert.equal(res.headers.get("x-ratelimit-remaining"), String(9 - i));
      assert.ok((JSON.parse(res.text) as { answer?: unknown }).answer, "it answered");
    }

    const refused = await post("/v1/query", { collection: "handbook", query: "how do I resume a job?" });
    assert.equal(refused.status, 429);
    assert.match(String(refused.headers.get("content-type")), /^application\/json/);
    const retryAfter = refused.headers.get("retry-after");
    assert.match(String(retryAfter), /^\d+$/, "Retry-After is whole seconds");
    assert.ok(Number(retryAfter) >= 1 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
    const body = JSON.parse(refused.text) as ErrorJson;
    assert.deepEqual(body, {
      statusCode: 429,
      code: "RATE_LIMITED",
      error: "Too Many Requests",
      message: `rate limit exceeded: at most 10 answered queries per 60 s; retry in ${retryAfter} s`,
    });

    for (let i = 0; i < 5; i++) {
      const res = await post("/v1/query", { collection: "handbook", query: "how do I resume a job?", answer: false });
      assert.equal(res.status, 200, `retrieval-only query ${i + 1}: ${res.text}`);
      assert.equal(res.headers.get("x-ratelimit-limit"), "120");
      assert.equal((JSON.parse(res.text) as { results: unknown[] }).results.length, 1);
    }
    const still = await post("/v1/query", { collection: "handbook", query: "resume", answer: true });
    assert.equal(still.status, 429, "answering is still refused");

    // Other routes are unlimited by default.
    for (let i = 0; i < 12; i++) assert.equal((await fetch(`${base}/v1/collections/handbook`)).status, 200);
  });
});

/**
 * A small app whose requests name their principal in `x-user` (`x-tenant`), set in `onRequest`
 * as the auth hook does (assigned without a decorator, so this test does not depend on the auth module).
 */
async function appWith(rateLimits: unknown, store = new MemoryRateLimitStore()): Promise<FastifyInstance> {
  const app = Fastify();
  registerErrorHandling(app);
  app.addHook("onRequest", async (request: FastifyRequest) => {
    const sub = request.headers["x-user"];
    const tenant = request.headers["x-tenant"];
    if (typeof sub === "string")
      (request as { principal: unknown }).principal = {
        sub,
        tenant: typeof tenant === "string" ? tenant : "default",
        scopes: ["query"],
      };
  });
  registerRateLimits(app, parseConfig({ api: { rateLimits } }), store);
  app.post("/v1/query", async () => ({ ok: true }));
  app.post("/v1/collections/:c/documents", async () => ({ ok: true }));
  app.post("/v1/jobs", async () => ({ ok: true }));
  app.post("/v1/jobs/:id/cancel", async () => ({ ok: true }));
  await app.ready();
  return app;
}

void describe("rate limit hook", () => {
  const query = (app: FastifyInstance, headers: Record<string, string> = {}, answer?: boolean) =>
    app.inject({
      method: "POST",
      url: "/v1/query",
      headers,
      payload: { collection: "c", query: "q", ...(answer === undefined ? {} : { answer }) },
    });

  void it("is per user: the principal's subject (per tenant) has its own budget, and without one the client IP does", async () => {
    const app = await appWith({ answer: { max: 1, windowMs: 60_000 } });
    assert.equal((await query(app, { "x-user": "alice" })).statusCode, 200);
    assert.equal((await query(app, { "x-user": "alice" })).statusCode, 429);
    assert.equal((await query(app, { "x-user": "bob" })).statusCode, 200, "bob has his own budget");
    assert.equal(
      (await query(app, { "x-user": "alice", "x-tenant": "other" })).statusCode,
      200,
      "another tenant's alice is someone else",
    );
    assert.equal((await query(app)).statusCode, 200, "no principal: the IP's budget");
    assert.equal((await query(app)).statusCode, 429);
    assert.equal(
      (await query(app, { "x-user": "anonymous" })).statusCode,
      429,
      "the anonymous auth-off principal is no user: it counts by IP",
    );
    await app.close();
  });

  void it("limits are per route class and configurable: answer off, ingest and a named route on", async () => {
    const app = await appWith({
      answer: false,
      query: { max: 1 },
      ingest: { max: 2, windowMs: 1000 },
      routes: { "POST /v1/jobs/:id/cancel": { max: 1 } },
    });
    for (let i = 0; i < 3; i++) assert.equal((await query(app)).statusCode, 200, "answering is unlimited");
    assert.equal((await query(app, {}, false)).statusCode, 200);
    assert.equal((await query(app, {}, false)).statusCode, 429);
    const upload = () => app.inject({ method: "POST", url: "/v1/collections/c/documents", payload: {} });
    assert.deepEqual(
      [(await upload()).statusCode, (await upload()).statusCode, (await upload()).statusCode],
      [200, 200, 429],
    );
    const pathJob = await app.inject({ method: "POST", url: "/v1/jobs", payload: {} });
    assert.equal(pathJob.statusCode, 429, "a job over server paths is an ingest too: same budget");
    assert.equal((await app.inject({ method: "POST", url: "/v1/jobs/a/cancel" })).statusCode, 200);
    const second = await app.inject({ method: "POST", url: "/v1/jobs/b/cancel" });
    assert.equal(second.statusCode, 429, "one budget per route pattern, not per URL");
    assert.equal(
      second.json<ErrorJson>().message,
      "rate limit exceeded: at most 1 POST /v1/jobs/:id/cancel requests per 60 s; retry in 60 s",
    );
    await app.close();
  });

  void it("lets requests through when the store fails (the limiter must not take the API down)", async () => {
    const broken = new MemoryRateLimitStore();
    broken.hit = () => Promise.reject(new Error("connection refused"));
    const app = await appWith({}, broken);
    for (let i = 0; i < 12; i++) assert.equal((await query(app)).statusCode, 200);
    await app.close();
  });

  void it("clientKey: principal subject qualified by tenant and URI-encoded, else the IP", () => {
    const request = (principal: unknown) => ({ principal, ip: "10.0.0.1" }) as unknown as FastifyRequest;
    assert.equal(clientKey(request({ sub: "a/b", tenant: "acme", scopes: [] })), "sub:acme/a%2Fb");
    assert.equal(clientKey(request({ sub: "alice" })), "sub:alice");
    assert.equal(clientKey(request(null)), "ip:10.0.0.1");
    assert.equal(clientKey(request({ sub: 42 })), "ip:10.0.0.1");
    assert.equal(clientKey(request(undefined)), "ip:10.0.0.1");
  });
});
