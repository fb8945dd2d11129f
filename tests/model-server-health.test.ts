import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SluiceError } from "../src/contracts/errors.ts";
import { ControlledEmbedder, startTestModelServer } from "../src/model-server/test-server.fixture.ts";
import { eventually, healthClient } from "./helpers/health-client.ts";

const EMBEDDER = "sluice.model.v1.Embedder";

function gate() {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

void describe("model server health (grpc.health.v1)", () => {
  void it("is live at once, NOT_SERVING while the model loads, then SERVING; Watch sees the change", async () => {
    const embedder = new ControlledEmbedder();
    const loading = gate();
    embedder.holdWarmUp(loading.promise);
    const t = await startTestModelServer(
      { modelServer: { services: ["embed"], metricsListen: "127.0.0.1:0" } },
      { embedder, waitReady: false },
    );
    const health = healthClient(t.server.address);
    try {
      assert.equal(await health.check(""), "SERVING", "liveness: the server answers");
      assert.equal(await health.check(EMBEDDER), "NOT_SERVING", "readiness: the model is still loading");
      const ready = await fetch(`http://${t.server.metricsAddress}/health/ready`);
      assert.equal(ready.status, 503);
      assert.deepEqual(((await ready.json()) as { notReady: string[] }).notReady, ["embed"]);
      assert.equal((await fetch(`http://${t.server.metricsAddress}/health/live`)).status, 200);

      const watch = health.watch(EMBEDDER);
      await eventually(() => watch.seen.length > 0, "the first Watch message");
      assert.deepEqual(watch.seen, ["NOT_SERVING"]);
      loading.open();
      await t.server.ready();
      await eventually(() => watch.seen.at(-1) === "SERVING", "Watch to report SERVING");
      assert.deepEqual(watch.seen, ["NOT_SERVING", "SERVING"]);
      watch.cancel();
      assert.equal(await health.check(EMBEDDER), "SERVING");
      assert.equal((await fetch(`http://${t.server.metricsAddress}/health/ready`)).status, 200);
    } finally {
      health.close();
      await t.close();
    }
  });

  void it("stays NOT_SERVING when the model fails to load, and a service it does not host is unknown", async () => {
    const embedder = new ControlledEmbedder();
    embedder.holdWarmUp(Promise.resolve(), new SluiceError("MODEL_UNAVAILABLE", "weights missing"));
    const t = await startTestModelServer({ modelServer: { services: ["embed"] } }, { embedder });
    const health = healthClient(t.server.address);
    try {
      assert.equal(await health.check(""), "SERVING");
      assert.equal(await health.check(EMBEDDER), "NOT_SERVING");
      await assert.rejects(health.check("sluice.model.v1.Ocr"), /NOT_FOUND/);
      assert.ok(t.logs.some((l) => l["service"] === "embed" && String(l["msg"]).includes("failed to load")));
    } finally {
      health.close();
      await t.close();
    }
  });

  void it("exports request, latency, queue, batch and residency metrics", async () => {
    const t = await startTestModelServer({ modelServer: { services: ["embed"], metricsListen: "127.0.0.1:0" } });
    try {
      const { GrpcModels } = await import("../src/models/remote/grpc-models.ts");
      const models = new GrpcModels({ address: t.server.address, timeoutMs: 5000, maxInFlight: 4 });
      await models.embedder().embed(["one", "two", "three"]);
      await assert.rejects(models.embedder().embed([""]));
      await models.close();
      const text = await (await fetch(`http://${t.server.metricsAddress}/metrics`)).text();
      assert.match(text, /model_server_requests_total\{method="Embed",code="OK"\} 1/);
      assert.match(text, /model_server_requests_total\{method="Embed",code="INVALID_ARGUMENT"\} 1/);
      assert.match(text, /model_server_request_duration_seconds_count\{method="Embed",code="OK"\} 1/);
      assert.match(text, /model_server_batch_size_sum\{service="embed"\} 3/);
      assert.match(text, /model_server_items_total\{service="embed"\} 3/);
      assert.match(text, /model_server_queue_depth\{service="embed"\} 0/);
      assert.match(text, /model_server_model_loaded\{service="embed",model="hash-32",device="cpu"\} 1/);
    } finally {
      await t.close();
    }
  });
});
