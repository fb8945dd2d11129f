import assert from "node:assert/strict";
import type { ServerResponse } from "node:http";
import { describe, it } from "node:test";
import { CloudEvent, HTTP } from "cloudevents";
import { toCloudEvent, type SluiceCloudEvent } from "./cloudevents.ts";
import { startCollector, type CollectedRequest } from "./http-collector.fixture.ts";
import { HttpEventSink } from "./http-event-sink.ts";

const TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

function stageEvent(docId: string): SluiceCloudEvent {
  return toCloudEvent(
    {
      type: "stage.completed",
      jobId: "job_1",
      docId,
      stage: "parse",
      attempt: 1,
      at: Date.now(),
      durationMs: 1.5,
      collection: "c",
      pipelineVersion: "auto@0123456789ab",
      traceparent: TRACEPARENT,
    },
    "/sluice/test",
  );
}

function parse(req: CollectedRequest): CloudEvent<Record<string, unknown>> {
  const parsed = HTTP.toEvent<Record<string, unknown>>({ headers: req.headers, body: req.body });
  assert.ok(!Array.isArray(parsed), "one event per request");
  return new CloudEvent<Record<string, unknown>>(parsed);
}

describe("HttpEventSink", () => {
  for (const mode of ["binary", "structured"] as const) {
    it(`POSTs each event in ${mode} mode; each request parses back into a valid CloudEvent`, async () => {
      const collector = await startCollector();
      const sink = new HttpEventSink({
        url: `${collector.url}/events`,
        mode,
        headers: { authorization: "TEST_EVENTS_AUTH", "X-Tenant-Key": "TEST_EVENTS_KEY" },
        env: { TEST_EVENTS_AUTH: "Bearer s3cret", TEST_EVENTS_KEY: "k1" },
      });
      try {
        for (const id of ["a", "b", "c"]) sink.deliver(stageEvent(id));
        await sink.close();
        assert.deepEqual(sink.stats(), { delivered: 3, failed: 0, dropped: 0, queued: 0 });
        assert.equal(collector.requests.length, 3);
        for (const req of collector.requests) {
          assert.equal(req.method, "POST");
          assert.equal(req.url, "/events");
          assert.equal(req.headers["authorization"], "Bearer s3cret");
          assert.equal(req.headers["x-tenant-key"], "k1");
          if (mode === "binary") {
            assert.equal(req.headers["ce-specversion"], "1.0");
            assert.equal(req.headers["ce-type"], "io.sluice.stage.completed");
            assert.equal(req.headers["ce-traceparent"], TRACEPARENT);
            assert.match(String(req.headers["content-type"]), /^application\/json/);
          } else {
            assert.match(String(req.headers["content-type"]), /^application\/cloudevents\+json/);
          }
          const ce = parse(req);
          assert.equal(ce.validate(), true);
          assert.equal(ce.type, "io.sluice.stage.completed");
          assert.equal(ce["jobid"], "job_1");
          assert.equal(ce["tenant"], "default");
          assert.equal(ce["traceparent"], TRACEPARENT);
          assert.equal(ce.data?.["stage"], "parse");
        }
        assert.deepEqual(
          collector.requests.map((r) => parse(r).subject),
          ["a", "b", "c"],
          "delivered in order",
        );
      } finally {
        await collector.close();
      }
    });
  }

  it("counts and logs failures (non-2xx, unreachable) without throwing", async () => {
    const collector = await startCollector((_req, res) => res.writeHead(503).end("busy"));
    const lines: string[] = [];
    const sink = new HttpEventSink({ url: collector.url, mode: "binary", log: (l) => lines.push(l) });
    sink.deliver(stageEvent("a"));
    sink.deliver(stageEvent("b"));
    await sink.close();
    await collector.close();
    assert.deepEqual(sink.stats(), { delivered: 0, failed: 2, dropped: 0, queued: 0 });
    assert.match(lines.join("\n"), /events\.http: delivery failed: EVENT_DELIVERY_FAILED: POST .* answered 503/);

    const dead = new HttpEventSink({ url: collector.url, mode: "structured", timeoutMs: 500, log: () => undefined });
    dead.deliver(stageEvent("c"));
    await dead.close();
    assert.equal(dead.stats().failed, 1);
  });

  it("keeps at most maxQueue events waiting: a stalled endpoint drops the oldest, counted", async () => {
    const held: ServerResponse[] = [];
    const collector = await startCollector((_req, res) => held.push(res));
    const sink = new HttpEventSink({ url: collector.url, mode: "structured", maxQueue: 2, log: () => undefined });
    try {
      sink.deliver(stageEvent("e0"));
      await collector.waitFor(1); // e0 is in flight and will not be answered for now
      for (const id of ["e1", "e2", "e3", "e4"]) sink.deliver(stageEvent(id));
      assert.deepEqual(sink.stats(), { delivered: 0, failed: 0, dropped: 2, queued: 3 });
      const release = setInterval(() => held.splice(0).forEach((r) => r.writeHead(202).end()), 10);
      await sink.close();
      clearInterval(release);
      assert.deepEqual(sink.stats(), { delivered: 3, failed: 0, dropped: 2, queued: 0 });
      assert.deepEqual(
        collector.requests.map((r) => parse(r).subject),
        ["e0", "e3", "e4"],
      );
    } finally {
      await collector.close();
    }
  });

  it("close() gives up on an endpoint that never answers: bounded in time, the rest counted as dropped", async () => {
    const collector = await startCollector(() => undefined);
    const sink = new HttpEventSink({
      url: collector.url,
      mode: "binary",
      flushTimeoutMs: 200,
      timeoutMs: 60_000,
      log: () => undefined,
    });
    for (const id of ["a", "b", "c"]) sink.deliver(stageEvent(id));
    const started = Date.now();
    await sink.close();
    assert.ok(Date.now() - started < 2_000, "close is bounded by flushTimeoutMs");
    const s = sink.stats();
    assert.equal(s.delivered, 0);
    assert.equal(s.failed + s.dropped, 3);
    await collector.close();
  });
});
