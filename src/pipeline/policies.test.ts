import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SluiceError } from "../contracts/errors.ts";
import { buildPipeline } from "./build.ts";
import { type BreakerState, buildPolicy, PolicySpecSchema } from "./policies.ts";
import { TokenBucket } from "./token-bucket.ts";
import { StageRegistry } from "./registry.ts";
import { loadTopology } from "./topology.ts";
import { defineStage } from "./define-stage.ts";
import { z } from "zod";
import { testServices } from "./services.fixture.ts";

const down = () => new SluiceError("MODEL_UNAVAILABLE", "test: down");

void describe("breaker state hook", () => {
  void it("reports closed when built, then open, half-open and closed again as the breaker moves", async () => {
    const states: BreakerState[] = [];
    const policy = buildPolicy(
      { breaker: { threshold: 2, halfOpenAfterMs: 30 } },
      { onBreakerState: (s) => states.push(s) },
    );
    assert.deepEqual(states, ["closed"]);
    for (let i = 0; i < 2; i++) await assert.rejects(policy.execute(() => Promise.reject(down())));
    assert.deepEqual(states, ["closed", "open"]);
    await sleep(40);
    assert.equal(await policy.execute(() => Promise.resolve("ok")), "ok");
    assert.deepEqual(states, ["closed", "open", "half-open", "closed"]);
  });

  void it("user errors never move it; a policy without a breaker never calls the hook", async () => {
    const states: BreakerState[] = [];
    const policy = buildPolicy(
      { breaker: { threshold: 1, halfOpenAfterMs: 1000 } },
      { onBreakerState: (s) => states.push(s) },
    );
    await assert.rejects(policy.execute(() => Promise.reject(new SluiceError("PDF_CORRUPT", "bad"))));
    assert.deepEqual(states, ["closed"]);
    const none: BreakerState[] = [];
    buildPolicy({ timeoutMs: 100 }, { onBreakerState: (s) => none.push(s) });
    assert.deepEqual(none, []);
  });

  void it("buildPipeline labels each breaker with its pipeline, policy and stage", () => {
    const noop = defineStage({
      type: "test.noop",
      description: "ref → ref",
      inputs: { ref: "DocumentRef" },
      outputs: { ref: "DocumentRef" },
      configSchema: z.object({}).strict(),
      create: () => ({ execute: async ({ ref }) => ({ ref }) }),
    });
    const services = testServices();
    const yaml = `version: 1
name: guarded
policies:
  guarded:
    breaker: { threshold: 3, halfOpenAfterMs: 1000 }
  plain:
    timeoutMs: 1000
inputs: [a.ref]
nodes:
  - { name: a, type: test.noop, policy: guarded }
  - { name: b, type: test.noop, policy: plain }
connections:
  - { sender: a.ref, receiver: b.ref }
`;
    const seen: string[] = [];
    buildPipeline(loadTopology(yaml), new StageRegistry().register(noop), services, {
      onBreakerState: (l, s) => seen.push(`${l.pipeline}/${l.policy}/${l.stage}=${s}`),
    });
    assert.deepEqual(seen, ["guarded/guarded/a=closed"]);
  });
});

void describe("rateLimit policy", () => {
  /** A bucket on a clock that only moves when it sleeps. */
  function fakeBucket(perSecond: number) {
    let now = 0;
    const slept: number[] = [];
    const bucket = new TokenBucket({
      perSecond,
      now: () => now,
      sleep: async (ms) => {
        slept.push(ms);
        now += ms;
      },
    });
    return { bucket, slept };
  }

  void it("every attempt, retries included, waits for its token before it runs", async () => {
    const { bucket, slept } = fakeBucket(2);
    const policy = buildPolicy(
      {
        retry: { attempts: 3, initialDelayMs: 0, maxDelayMs: 0, jitter: false },
        rateLimit: { perSecond: 2, burst: 1 },
      },
      { rateLimiter: bucket },
    );
    let calls = 0;
    const result = await policy.execute(() => (++calls < 3 ? Promise.reject(down()) : Promise.resolve("ok")));
    assert.equal(result, "ok");
    assert.equal(calls, 3);
    assert.deepEqual(slept, [500, 500], "the second and third attempts each waited half a second");
  });

  void it("nodes naming the same policy share one bucket: the second waits for the first's token", async () => {
    let runs = 0;
    const counted = defineStage({
      type: "test.counted",
      description: "ref → ref, counting runs",
      inputs: { ref: "DocumentRef" },
      outputs: { ref: "DocumentRef" },
      configSchema: z.object({}).strict(),
      create: () => ({ execute: async ({ ref }) => (runs++, { ref }) }),
    });
    const services = testServices();
    const yaml = `version: 1
name: polite
policies:
  polite:
    rateLimit: { perSecond: 0.001 }
inputs: [a.ref]
nodes:
  - { name: a, type: test.counted, policy: polite }
  - { name: b, type: test.counted, policy: polite }
connections:
  - { sender: a.ref, receiver: b.ref }
`;
    const pipeline = buildPipeline(loadTopology(yaml), new StageRegistry().register(counted), services);
    const [a, b] = pipeline.nodes;
    await a!.policy!.execute(() => Promise.resolve("first"));
    const controller = new AbortController();
    const second = b!.policy!.execute(() => {
      runs++;
      return Promise.resolve("second");
    }, controller.signal);
    await Promise.resolve();
    assert.equal(runs, 0, "the second node's attempt has not started: the shared bucket is empty");
    controller.abort(new Error("gave up waiting"));
    await assert.rejects(second, /gave up waiting/);
    assert.equal(runs, 0);
  });

  void it("refuses a rate that is not positive when the pipeline is loaded", () => {
    assert.throws(() => PolicySpecSchema.parse({ rateLimit: { perSecond: 0 } }));
    assert.equal(PolicySpecSchema.parse({ rateLimit: { perSecond: 3 } }).rateLimit?.burst, 1);
  });
});
