import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startTestModelServer, type TestModelServer } from "../src/model-server/test-server.fixture.ts";
import { LexicalSparseEncoder } from "../src/models/backends/lexical-sparse-encoder.ts";
import { TesseractOcr } from "../src/models/backends/tesseract-ocr.ts";
import { assertSameVector, describeDenseEmbedderConformance } from "../src/models/conformance.test-suite.ts";
import { describeOcrConformance } from "../src/models/ocr-conformance.test-suite.ts";
import { GrpcModels } from "../src/models/remote/grpc-models.ts";
import { isUnannouncedId } from "../src/models/remote/remote-model.ts";

// One server for the whole file: the adapters under test are the clients.
let shared: Promise<TestModelServer> | undefined;
const server = () =>
  (shared ??= startTestModelServer(
    { modelServer: { services: ["embed", "sparse", "rerank", "ocr"] } },
    { ocr: new TesseractOcr() },
  ));
const clients: GrpcModels[] = [];
const connect = async () => {
  const models = new GrpcModels({ address: (await server()).server.address, timeoutMs: 30_000, maxInFlight: 8 });
  clients.push(models);
  return models;
};
after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await (await shared)?.close();
});

void describe("GrpcModels before warmUp", () => {
  void it("answers id, dimensions and languages without asking the server: the configured address, 0, undefined", async () => {
    // Nothing listens on port 1 and the client is never opened: a network call could not answer.
    const models = new GrpcModels({ address: "127.0.0.1:1", timeoutMs: 1_000, maxInFlight: 1 });
    const embedder = models.embedder();
    assert.equal(embedder.id, "remote:127.0.0.1:1/embed");
    assert.equal(embedder.dimensions, 0);
    assert.equal(embedder.languages, undefined);
    assert.equal(models.sparseEncoder().id, "remote:127.0.0.1:1/sparse");
    assert.equal(models.reranker().id, "remote:127.0.0.1:1/rerank");
    assert.equal(models.ocr().id, "remote:127.0.0.1:1/ocr");
    assert.equal(isUnannouncedId(embedder.id), true, "lineage can tell it from a model id");
    await models.close();
  });
});

describeDenseEmbedderConformance("grpc (RemoteEmbedder → model server)", async () => (await connect()).embedder());
describeOcrConformance("grpc (RemoteOcr → model server)", async () => (await connect()).ocr());

void describe("GrpcModels against a model server", () => {
  let t: TestModelServer;
  let models: GrpcModels;
  before(async () => {
    t = await server();
    models = await connect();
  });

  void it("announces the server's model, so vectors match the in-process backend bit for bit", async () => {
    const embedder = models.embedder();
    await embedder.warmUp();
    assert.equal(embedder.id, t.embedder.id);
    assert.equal(embedder.dimensions, t.embedder.dimensions);
    const texts = ["resume a failed job", "the gate spools every document"];
    const [remote, local] = [await embedder.embed(texts), await t.embedder.inner.embed(texts)];
    remote.forEach((v, i) => assertSameVector(v, local[i], 0, texts[i]));
  });

  void it("reads the server's model once embed() has run, without an explicit warmUp (the id a collection stores)", async () => {
    // The dense-embed stage stores `embedder.id` after its call; embed() warms up first, so the
    // address-based id from before never reaches a collection.
    const fresh = await connect();
    const embedder = fresh.embedder();
    assert.equal(embedder.id, `remote:${t.server.address}/embed`);
    await embedder.embed(["learn the model"]);
    assert.equal(embedder.id, t.embedder.id);
    assert.equal(isUnannouncedId(embedder.id), false);
    assert.equal(embedder.dimensions, t.embedder.dimensions);
    const sparse = fresh.sparseEncoder();
    await sparse.encode(["learn the model"]);
    assert.equal(sparse.id, new LexicalSparseEncoder().id);
  });

  void it("returns the analyzer's sparse weights and cosine rerank scores", async () => {
    const texts = ["Resume re-runs only the documents that did not complete."];
    const sparse = models.sparseEncoder();
    assert.deepEqual(await sparse.encode(texts), await new LexicalSparseEncoder().encode(texts));
    const scores = await models
      .reranker()
      .rerank("how do I resume a job", ["resume re-runs the job", "bananas are yellow"]);
    assert.equal(scores.length, 2);
    assert.ok(scores[0]! > scores[1]!, `scores ${scores.join(", ")}`);
  });

  void it("reports models, dimensions, device and residency through Info", async () => {
    const info = await models.client.info();
    assert.deepEqual(info.models.map((m) => m.service).sort(), ["embed", "ocr", "rerank", "sparse"]);
    const embed = info.models.find((m) => m.service === "embed")!;
    assert.equal(embed.dimensions, 32);
    assert.equal(embed.device, "cpu");
    assert.equal(embed.residency, "RESIDENCY_LOADED");
    assert.deepEqual(info.gpus, []);
  });

  void it("gives its status: each service SERVING with its model and residency, and the call queue", async () => {
    const status = await models.status();
    assert.equal(status.mode, "remote");
    assert.equal(status.address, t.server.address);
    assert.equal(status.error, undefined);
    assert.deepEqual(status.services.map((s) => [s.service, s.health]).sort(), [
      ["embed", "SERVING"],
      ["ocr", "SERVING"],
      ["rerank", "SERVING"],
      ["sparse", "SERVING"],
    ]);
    const embed = status.services.find((s) => s.service === "embed")!;
    assert.equal(embed.model, t.embedder.id);
    assert.equal(embed.residency, "loaded");
    assert.equal(embed.dimensions, 32);
    assert.deepEqual(status.queue, { inFlight: 0, waiting: 0, window: status.queue!.window });
    assert.ok((status.queue?.window ?? 0) >= 1);
  });

  void it("reports a model server that does not answer as NOT_SERVING with the reason, without throwing", async () => {
    const nobody = new GrpcModels({ address: "127.0.0.1:1", timeoutMs: 1_000, maxInFlight: 1 });
    clients.push(nobody);
    await nobody.open();
    const status = await nobody.status();
    assert.ok(status.error && status.error.length > 0);
    assert.ok(status.services.every((s) => s.health === "NOT_SERVING"));
  });

  void it("sends tenant_id and a W3C traceparent in metadata", async () => {
    const traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    await models.embedder().embed(["tenant and trace"], { tenantId: "acme", traceparent });
    const line = t.logs.find((l) => l["method"] === "Embed" && l["tenant"] === "acme");
    assert.ok(line, "the server logged the call with its tenant");
    assert.equal(line["traceparent"], traceparent);
    await models.embedder().embed(["no trace given"]);
    const generated = t.logs.filter((l) => l["method"] === "Embed" && l["tenant"] === "default").at(-1);
    assert.match(String(generated?.["traceparent"]), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
  });

  void it("passes the stage's model parameters to the backend, and refuses bad ones with the server's VALIDATION_FAILED", async () => {
    await models.embedder().embed(["params travel"], { params: { batchSize: 7, keepAliveMs: 60_000 } });
    assert.equal(t.embedder.seen.at(-1)?.params?.batchSize, 7);
    await assert.rejects(
      models.embedder().embed(["bad params"], { params: { batchSize: 0 } }),
      (err: { code?: string; message?: string }) => {
        assert.equal(err.code, "VALIDATION_FAILED");
        assert.match(err.message ?? "", /INVALID_ARGUMENT.*params\.batchSize/);
        return true;
      },
    );
  });

  void it("refuses an empty text with MODEL_REJECTED naming it", async () => {
    await assert.rejects(models.embedder().embed(["fine", ""]), /INVALID_ARGUMENT: Embed: texts\[1\] is empty/);
  });
});
