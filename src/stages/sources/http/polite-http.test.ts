import assert from "node:assert/strict";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { apiReason, PoliteHttp, retryAfterMs, type PoliteHttpOptions } from "./polite-http.ts";

type Reply = { status: number; headers?: Record<string, string>; body?: string };

let replies: Reply[] = [];
let hits = 0;
let base = "";
const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
  hits++;
  const reply = replies.shift() ?? { status: 200, body: "ok" };
  res.writeHead(reply.status, { "content-type": "application/json", ...reply.headers });
  res.end(reply.body ?? "");
});

before(async () => {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A client on a clock that only moves when it sleeps; `slept` lists every wait. */
function client(options: Partial<PoliteHttpOptions> = {}) {
  let now = 1_000_000;
  const slept: number[] = [];
  const http = new PoliteHttp({
    userAgent: "sluice-test",
    defaultLimit: { perSecond: 1000, burst: 100 },
    retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1000 },
    breaker: { threshold: 5, halfOpenAfterMs: 60_000 },
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => 1,
    ...options,
  });
  return { http, slept, advance: (ms: number) => (now += ms) };
}

function reset(next: Reply[]) {
  replies = next;
  hits = 0;
}

describe("PoliteHttp", () => {
  it("waits what a 429's Retry-After asks, then returns the answer", async () => {
    reset([
      { status: 429, headers: { "retry-after": "7" }, body: '{"error":"API rate limit exceeded"}' },
      { status: 200, body: "{}" },
    ]);
    const { http, slept } = client();
    const reply = await http.get(`${base}/x`);
    assert.equal(reply.status, 200);
    assert.deepEqual(slept, [7000]);
    assert.equal(hits, 2);
  });

  it("a Retry-After longer than maxRetryAfterMs fails at once with SOURCE_RATE_LIMITED and the wait", async () => {
    reset([{ status: 429, headers: { "retry-after": "3600" }, body: '{"error":"Daily limit exceeded"}' }]);
    const { http } = client({ maxRetryAfterMs: 60_000 });
    await assert.rejects(
      http.get(`${base}/x`),
      (err: { code: string; message: string; details: { retryAfterSeconds: number } }) => {
        assert.equal(err.code, "SOURCE_RATE_LIMITED");
        assert.equal(err.details.retryAfterSeconds, 3600);
        assert.match(err.message, /Daily limit exceeded/);
        return true;
      },
    );
    assert.equal(hits, 1);
  });

  it("retries 5xx with exponential backoff, then fails with SOURCE_UNAVAILABLE quoting the last answer", async () => {
    reset([{ status: 503 }, { status: 502 }, { status: 500, body: "upstream exploded" }]);
    const { http, slept } = client();
    await assert.rejects(http.get(`${base}/x`), (err: { code: string; message: string }) => {
      assert.equal(err.code, "SOURCE_UNAVAILABLE");
      assert.match(err.message, /500 upstream exploded \(after 3 attempts\)/);
      return true;
    });
    assert.deepEqual(slept, [100, 200]);
    assert.equal(hits, 3);
  });

  it("returns 4xx answers for the adapter to read, without retrying", async () => {
    reset([
      {
        status: 400,
        body: '{"error":"Invalid query parameters error.","message":"DOESNTEXIST is not a valid field."}',
      },
    ]);
    const { http } = client();
    const reply = await http.get(`${base}/x`);
    assert.equal(reply.status, 400);
    assert.equal(apiReason(reply), "DOESNTEXIST is not a valid field.");
    assert.equal(hits, 1);
  });

  it("opens the host's breaker after consecutive failures: later calls fail at once, a success after the pause closes it", async () => {
    reset(Array.from({ length: 4 }, () => ({ status: 503 })));
    const { http, advance } = client({
      retry: { attempts: 2, initialDelayMs: 1, maxDelayMs: 1 },
      breaker: { threshold: 4, halfOpenAfterMs: 30_000 },
    });
    await assert.rejects(http.get(`${base}/a`), { code: "SOURCE_UNAVAILABLE" });
    await assert.rejects(http.get(`${base}/b`), { code: "SOURCE_UNAVAILABLE" });
    assert.equal(hits, 4);
    await assert.rejects(http.get(`${base}/c`), /breaker open after 4 failed calls/);
    assert.equal(hits, 4, "an open breaker sends nothing");
    advance(30_001);
    reset([
      { status: 200, body: "{}" },
      { status: 200, body: "{}" },
    ]);
    assert.equal((await http.get(`${base}/d`)).status, 200);
    assert.equal((await http.get(`${base}/e`)).status, 200);
  });

  it("keeps each host to its rate: calls are spaced by its token bucket", async () => {
    reset([]);
    const { http, slept } = client({ hosts: { "127.0.0.1": { perSecond: 2 } } });
    for (let i = 0; i < 3; i++) await http.get(`${base}/x`);
    assert.deepEqual(slept, [500, 500]);
  });

  it("reads Retry-After as seconds or as an HTTP date", () => {
    assert.equal(retryAfterMs("120", 0), 120_000);
    assert.equal(retryAfterMs(new Date(60_000).toUTCString(), 0), 60_000);
    assert.equal(retryAfterMs("soon", 0), undefined);
    assert.equal(retryAfterMs(null, 0), undefined);
  });

  it("quotes plain-text reasons and never an HTML error page", () => {
    assert.equal(apiReason({ status: 400, contentType: "text/plain", body: "Invalid pageToken" }), "Invalid pageToken");
    assert.equal(
      apiReason({ status: 404, contentType: "text/html; charset=utf-8", body: "<!doctype html><h1>Not Found</h1>" }),
      "HTTP 404",
    );
  });
});
