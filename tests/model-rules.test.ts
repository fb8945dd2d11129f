import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { BrokenCircuitError } from "cockatiel";
import { SluiceError } from "../src/contracts/errors.ts";
import {
  ControlledEmbedder,
  startTestModelServer,
  unavailable,
  type TestModelServer,
} from "../src/model-server/test-server.fixture.ts";
import { GrpcModels } from "../src/models/remote/grpc-models.ts";
import { buildPolicy } from "../src/pipeline/policies.ts";
import { eventually } from "./helpers/eventually.ts";

function code(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

async function metric(t: TestModelServer, line: RegExp): Promise<number> {
  const text = await t.server.metrics.registry.metrics();
  const match = text.split("\n").find((l) => line.test(l));
  return match ? Number(match.split(" ").at(-1)) : 0;
}

void describe("status codes map to policy", () => {
  let t: TestModelServer;
  let models: GrpcModels;
  before(async () => {
    t = await startTestModelServer({ modelServer: { services: ["embed"] } });
    models = new GrpcModels({ address: t.server.address, timeoutMs: 5000, maxInFlight: 16 });
  });
  after(async () => {
    await models.close();
    await t.close();
  });

  void it("UNAVAILABLE opens the breaker after its threshold, which half-opens after its window", async () => {
    const policy = buildPolicy({ breaker: { threshold: 3, halfOpenAfterMs: 300 } });
    const embed = () => policy.execute(({ signal }) => models.embedder().embed(["breaker"], { signal }));
    await models.embedder().warmUp();
    const before = t.embedder.calls;
    const failingFrom = Date.now();
    t.embedder.failNext(3, unavailable);
    for (let i = 0; i < 3; i++)
      await assert.rejects(
        embed(),
        (err: unknown) => code(err) === "MODEL_UNAVAILABLE" && (err as SluiceError).retryable,
      );
    await assert.rejects(embed(), BrokenCircuitError);
    assert.equal(t.embedder.calls - before, 3, "an open breaker sends nothing to the server");
    // Knock until the breaker lets a call through: while open it refuses each at once (nothing
    // reaches the server); half-open, one trial call goes through and succeeds, closing it.
    await eventually(
      async () => {
        try {
          await embed();
          return true;
        } catch (err) {
          if (err instanceof BrokenCircuitError) return false;
          throw err;
        }
      },
      "the breaker to half-open",
      5_000,
    );
    assert.ok(Date.now() - failingFrom >= 300, "not before its 300 ms window");
    assert.equal(t.embedder.calls - before, 4, "the refused knocks sent nothing; the trial call did");
    await embed();
    assert.equal(t.embedder.calls - before, 5);
  });

  void it("UNAVAILABLE is retried with backoff until the server answers", async () => {
    const policy = buildPolicy({ retry: { attempts: 4, initialDelayMs: 10, maxDelayMs: 50, jitter: true } });
    const before = t.embedder.calls;
    t.embedder.failNext(2, unavailable);
    const [vector] = await policy.execute(({ signal }) => models.embedder().embed(["retry me"], { signal }));
    assert.equal(vector?.length, 32);
    assert.equal(t.embedder.calls - before, 3);
  });

  void it("FAILED_PRECONDITION (gpu-required on a server without one) fails fast: no retry, no breaker count", async () => {
    const policy = buildPolicy({
      retry: { attempts: 5, initialDelayMs: 10, maxDelayMs: 50, jitter: false },
      breaker: { threshold: 1, halfOpenAfterMs: 60_000 },
    });
    const rejected = () => metric(t, /^model_server_requests_total\{method="Embed",code="FAILED_PRECONDITION"\}/);
    const before = await rejected();
    const calls = t.embedder.calls;
    await assert.rejects(
      policy.execute(({ signal }) =>
        models.embedder().embed(["needs a gpu"], { signal, params: { device: "gpu-required" } }),
      ),
      (err: unknown) => {
        assert.equal(code(err), "DEVICE_UNAVAILABLE");
        assert.equal((err as SluiceError).retryable, false);
        assert.match(String((err as Error).message), /FAILED_PRECONDITION/);
        return true;
      },
    );
    assert.equal((await rejected()) - before, 1, "one request: not retried");
    assert.equal(t.embedder.calls, calls, "the model never ran");
    // The breaker (threshold 1) did not count it: the next call goes through.
    await policy.execute(({ signal }) => models.embedder().embed(["cpu is fine"], { signal }));
  });

  void it("gpu-preferred falls back to the CPU and says so in the reply", async () => {
    const { timing } = await (
      models.embedder() as import("../src/models/remote/remote-embedder.ts").RemoteEmbedder
    ).embedWithTiming(["prefer a gpu"], { params: { device: "gpu-preferred" } });
    assert.equal(timing?.device, "cpu");
  });

  void it("INVALID_ARGUMENT fails the call without retry", async () => {
    const policy = buildPolicy({ retry: { attempts: 5, initialDelayMs: 10, maxDelayMs: 50, jitter: false } });
    const invalid = () => metric(t, /^model_server_requests_total\{method="Embed",code="INVALID_ARGUMENT"\}/);
    const before = await invalid();
    await assert.rejects(
      policy.execute(({ signal }) => models.embedder().embed([""], { signal })),
      (err: unknown) => (err as SluiceError).retryable === false,
    );
    assert.equal((await invalid()) - before, 1);
  });

  void it("DEADLINE_EXCEEDED: the call fails as retryable and the server stops the work it was doing for it", async () => {
    t.embedder.delayMs = 2_000;
    try {
      const aborted = t.embedder.aborted;
      await assert.rejects(models.embedder().embed(["too slow"], { deadline: Date.now() + 100 }), (err: unknown) => {
        assert.equal(code(err), "MODEL_UNAVAILABLE");
        assert.equal((err as SluiceError).details?.["grpcStatus"], "DEADLINE_EXCEEDED");
        return true;
      });
      await eventually(() => t.embedder.aborted - aborted > 0, "the server to abort the batch", 5_000);
      assert.equal(t.embedder.aborted - aborted, 1, "the batch was aborted on the server");
    } finally {
      t.embedder.delayMs = 0;
    }
  });

  void it("a cancelled call stops its work on the server", async () => {
    t.embedder.delayMs = 2_000;
    try {
      const aborted = t.embedder.aborted;
      const calls = t.embedder.calls;
      const controller = new AbortController();
      const call = models.embedder().embed(["cancel me"], { signal: controller.signal });
      await eventually(() => t.embedder.calls > calls, "the call to reach the model on the server", 5_000);
      controller.abort(new SluiceError("JOB_CANCELLED", "test cancel"));
      await assert.rejects(call, (err: unknown) => code(err) === "JOB_CANCELLED");
      await eventually(() => t.embedder.aborted - aborted > 0, "the server to abort the batch", 5_000);
      assert.equal(t.embedder.aborted - aborted, 1);
    } finally {
      t.embedder.delayMs = 0;
    }
  });
});

void describe("RESOURCE_EXHAUSTED", () => {
  void it("backs off and narrows the in-flight window; every call ends up served and the breaker stays shut", async () => {
    const embedder = new ControlledEmbedder({ delayMs: 30 });
    const t = await startTestModelServer(
      { modelServer: { services: ["embed"], batching: { maxQueuedItems: 4, maxBatchItems: 4 } } },
      { embedder },
    );
    const models = new GrpcModels({ address: t.server.address, timeoutMs: 10_000, maxInFlight: 16 });
    try {
      const policy = buildPolicy({
        retry: { attempts: 30, initialDelayMs: 20, maxDelayMs: 200, jitter: true },
        breaker: { threshold: 2, halfOpenAfterMs: 60_000 },
      });
      await models.embedder().warmUp();
      const results = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          policy.execute(({ signal }) => models.embedder().embed([`text ${i}a`, `text ${i}b`], { signal })),
        ),
      );
      assert.equal(results.length, 12);
      assert.ok(results.every((r) => r.length === 2));
      const overloaded = await metric(t, /^model_server_requests_total\{method="Embed",code="RESOURCE_EXHAUSTED"\}/);
      assert.ok(overloaded > 0, "the bounded queue pushed back");
      assert.ok(models.client.limit.window < 16, `window narrowed to ${models.client.limit.window}`);
      assert.equal(embedder.texts, 24, "each text ran once");
    } finally {
      await models.close();
      await t.close();
    }
  });
});
