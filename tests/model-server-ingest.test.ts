import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { describe, it } from "node:test";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { ControlledEmbedder, startTestModelServer } from "../src/model-server/test-server.fixture.ts";
import { SHIPPED_PIPELINES } from "../src/engine/resolve-pipeline.ts";
import { eventually } from "./helpers/health-client.ts";

async function remoteSluice(address: string) {
  const dir = await mkdtemp(join(tmpdir(), "sluice-remote-"));
  const config = parseConfig({
    models: { mode: "remote", remote: { address, timeoutMs: 10_000 } },
    ingest: { concurrency: 8 },
  });
  return { dir, sluice: await Sluice.open({ dataDir: join(dir, "data"), cwd: dir, config }) };
}

function docs(n: number, prefix = "doc") {
  return Array.from({ length: n }, (_, i) => ({
    id: `${prefix}-${i}`,
    text: `Document ${i} about resuming jobs, spools and model servers. Sentence two of ${i}.`,
  }));
}

void describe("ingest with models.mode: remote", () => {
  void it("indexes through the model server and answers queries with the server's vectors", async () => {
    const t = await startTestModelServer({ modelServer: { services: ["embed", "sparse"] } });
    const { sluice } = await remoteSluice(t.server.address);
    try {
      const job = await sluice.submitDocuments({ collection: "remote", documents: docs(20) });
      const done = await sluice.runJob(job.id);
      assert.equal(done.state, "COMPLETED");
      assert.equal((await sluice.stats("remote")).documents, 20);
      assert.ok(t.embedder.texts >= 20);
      const { results } = await sluice.query({
        collection: "remote",
        query: "document 7 resuming",
        mode: "dense",
        answer: false,
      });
      assert.ok(results.length > 0);
      assert.equal((await sluice.stats("remote")).embedder, t.embedder.id);
      assert.ok(t.embedder.seen.some((o) => o.kind === "passage"));
      // Every document's run is one trace: its Embed calls carry the run's traceparent.
      const traces = new Set(t.logs.filter((l) => l["method"] === "Embed").map((l) => String(l["traceparent"])));
      assert.ok([...traces].every((tp) => /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/.test(tp)));
      assert.ok(traces.size >= 20, `${traces.size} traces for 20 documents`);
    } finally {
      await sluice.close();
      await t.close();
    }
  });

  void it("model calls of a tenant's documents carry that tenant in tenant_id", async () => {
    const t = await startTestModelServer({ modelServer: { services: ["embed"] } });
    const { sluice } = await remoteSluice(t.server.address);
    try {
      const job = await sluice.submitDocuments({ collection: "acme~notes", documents: docs(2, "acme") });
      assert.equal((await sluice.runJob(job.id)).state, "COMPLETED");
      const tenants = new Set(t.logs.filter((l) => l["method"] === "Embed").map((l) => l["tenant"]));
      assert.deepEqual([...tenants], ["acme"]);
    } finally {
      await sluice.close();
      await t.close();
    }
  });

  void it("a stage marked device: gpu-required fails its documents at once with DEVICE_UNAVAILABLE", async () => {
    const t = await startTestModelServer({ modelServer: { services: ["embed"] } });
    const { dir, sluice } = await remoteSluice(t.server.address);
    try {
      const yaml = readFileSync(join(SHIPPED_PIPELINES, "auto.yaml"), "utf8").replace(
        "    type: embed.dense\n",
        "    type: embed.dense\n    config:\n      device: gpu-required\n",
      );
      assert.match(yaml, /device: gpu-required/);
      writeFileSync(join(dir, "gpu.yaml"), yaml);
      const job = await sluice.submitDocuments({ collection: "gpu", documents: docs(3), pipeline: "gpu.yaml" });
      const done = await sluice.runJob(job.id);
      assert.equal(done.state, "FAILED");
      assert.equal(done.failed, 3);
      for (const d of done.documents ?? []) {
        assert.equal(d.error?.code, "DEVICE_UNAVAILABLE");
        assert.match(d.error?.message ?? "", /FAILED_PRECONDITION/);
        assert.equal(d.stages?.find((s) => s.stage === "embed")?.attempts, 1, "not retried");
      }
      const text = await t.server.metrics.registry.metrics();
      assert.match(
        text,
        /model_server_requests_total\{method="Embed",code="FAILED_PRECONDITION"\} 3\n/,
        "one request per document: no retry, no re-lease",
      );
      assert.equal(t.embedder.calls, 0);
    } finally {
      await sluice.close();
      await t.close();
    }
  });

  void it("cancelling the ingest stops the server's work for it", async () => {
    const embedder = new ControlledEmbedder({ delayMs: 40 });
    const t = await startTestModelServer(
      { modelServer: { services: ["embed"], batching: { maxBatchItems: 4 } } },
      { embedder },
    );
    const { sluice } = await remoteSluice(t.server.address);
    try {
      const total = 300;
      const job = await sluice.submitDocuments({ collection: "cancel", documents: docs(total) });
      const running = sluice.runJob(job.id);
      await eventually(() => embedder.texts >= 20, "the server to start embedding");
      await sluice.ledger.cancelJob(job.id);
      const ended = await running;
      assert.equal(ended.state, "CANCELLED");
      // The server aborts batches whose callers have gone: wait for those in flight to end.
      await eventually(() => embedder.active === 0, "the server's batches in flight to end", 5_000);
      const afterCancel = embedder.texts;
      const calls = embedder.calls;
      await sleep(500); // a quiet period: nothing may start in it (the absence of an event has no event to wait for)
      assert.equal(embedder.calls, calls, "no new model batches after the cancel settled");
      assert.equal(embedder.texts, afterCancel);
      assert.ok(afterCancel < total, `only ${afterCancel} of ${total} texts were embedded`);
      assert.match(await t.server.metrics.registry.metrics(), /model_server_queue_depth\{service="embed"\} 0/);
    } finally {
      await sluice.close();
      await t.close();
    }
  });
});
