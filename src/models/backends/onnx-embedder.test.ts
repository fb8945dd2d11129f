import assert from "node:assert/strict";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SluiceError } from "../../contracts/errors.ts";
import { l2Normalize } from "../l2-normalize.ts";
import { assertSameVector, describeDenseEmbedderConformance } from "../conformance.test-suite.ts";
import { OnnxEmbedder, type OnnxEmbedderConfig } from "./onnx-embedder.ts";
import { writeTinyOnnxModel, type TinyOnnxModel } from "./tiny-onnx-model.fixture.ts";

// The model is a hand-encoded ONNX graph (embedding lookup, no encoder layers; see the fixture):
// no real pretrained ONNX model is available offline, but this one runs through the real
// transformers.js tokenizer + pipeline and onnxruntime-node, and its outputs can be computed by hand.
const root = await mkdtemp(join(tmpdir(), "sluice-onnx-"));
const model: TinyOnnxModel = await writeTinyOnnxModel(join(root, "tiny-bert"));
after(async () => rm(root, { recursive: true, force: true }));

function config(overrides: Partial<OnnxEmbedderConfig> = {}): OnnxEmbedderConfig {
  return { path: model.dir, pooling: "mean", queryPrefix: "", passagePrefix: "", batchSize: 8, ...overrides };
}

/** What the model must produce for `text`: pooled rows of the embedding table, normalised. */
function expected(text: string, pooling: "mean" | "cls" = "mean"): Float32Array {
  if (pooling === "cls") return l2Normalize(model.row(model.ids(text)[0] as number));
  return l2Normalize(meanOf(model, text));
}

function invalid(file: string) {
  return (err: unknown) => {
    assert.ok(err instanceof SluiceError, String(err));
    assert.equal(err.code, "CONFIG_INVALID");
    assert.ok(err.message.includes(file), `"${err.message}" should name ${file}`);
    return true;
  };
}

describeDenseEmbedderConformance("onnx (tiny hand-built model)", () => new OnnxEmbedder(config()));

void describe("OnnxEmbedder", () => {
  const embedder = new OnnxEmbedder(config({ batchSize: 2 }));
  before(async () => {
    assert.equal(embedder.dimensions, 0, "dimensions is 0 before warmUp");
    await embedder.warmUp();
  });
  after(async () => {
    await embedder.close();
  });

  void it("reads dimensions from config.json hidden_size and names itself after the folder and pooling", () => {
    assert.equal(embedder.dimensions, 16);
    assert.equal(embedder.id, "onnx:tiny-bert/mean");
  });

  void it("mean-pools over real tokens only (padding excluded) and normalises", async () => {
    const texts = ["hello", "the cat sat on the mat.", "how do i reset my password"];
    const vectors = await embedder.embed(texts);
    for (const [i, t] of texts.entries()) assertSameVector(vectors[i], expected(t), 1e-5, t);
  });

  void it("cls pooling takes the first token's vector", async () => {
    const cls = new OnnxEmbedder(config({ pooling: "cls" }));
    try {
      const [a, b] = await cls.embed(["hello world", "quarterly revenue"]);
      assertSameVector(a, expected("hello world", "cls"), 1e-5);
      assertSameVector(b, expected("quarterly revenue", "cls"), 1e-5);
      assert.equal(cls.id, "onnx:tiny-bert/cls");
    } finally {
      await cls.close();
    }
  });

  void it("prepends queryPrefix / passagePrefix by kind, and nothing without a kind", async () => {
    const e5 = new OnnxEmbedder(config({ queryPrefix: "query: ", passagePrefix: "passage: " }));
    try {
      const [q] = await e5.embed(["the cat"], { kind: "query" });
      const [p] = await e5.embed(["the cat"], { kind: "passage" });
      const [plain] = await e5.embed(["the cat"]);
      assertSameVector(q, expected("query: the cat"), 1e-5, "query");
      assertSameVector(p, expected("passage: the cat"), 1e-5, "passage");
      assertSameVector(plain, expected("the cat"), 1e-5, "plain");
    } finally {
      await e5.close();
    }
  });

  void it("loads a folder whose name is not a hub id, next to another model, concurrently", async () => {
    const odd = await writeTinyOnnxModel(join(root, "other parent", "-tiny model@v2"), 8);
    const a = new OnnxEmbedder(config({ path: odd.dir }));
    const b = new OnnxEmbedder(config());
    try {
      await Promise.all([a.warmUp(), b.warmUp()]);
      assert.equal(a.dimensions, 8);
      assert.equal(b.dimensions, 16);
      assertSameVector((await a.embed(["hello"]))[0], l2Normalize(meanOf(odd, "hello")), 1e-5);
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  void it("turns transformers.js remote loading off and its fetch into an error", async () => {
    const { env } = await import("@huggingface/transformers");
    assert.equal(env.allowRemoteModels, false);
    assert.equal(env.useFSCache, false);
    await assert.rejects(env.fetch("https://huggingface.co/x/resolve/main/config.json"), /network access is disabled/);
  });
});

void describe("OnnxEmbedder folder checks (CONFIG_INVALID naming what is missing)", () => {
  void it("missing folder", async () => {
    await assert.rejects(new OnnxEmbedder(config({ path: join(root, "nope") })).warmUp(), invalid(join(root, "nope")));
  });

  for (const file of ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
    void it(`missing ${file}`, async () => {
      const m = await writeTinyOnnxModel(join(root, `without-${file.replace("/", "-")}`));
      await rm(join(m.dir, file));
      const e = new OnnxEmbedder(config({ path: m.dir }));
      await assert.rejects(e.warmUp(), invalid(file));
      await assert.rejects(e.embed(["hello"]), invalid(file));
      assert.equal(e.dimensions, 0);
    });
  }

  void it("config.json without hidden_size", async () => {
    const m = await writeTinyOnnxModel(join(root, "no-hidden-size"));
    await writeFile(join(m.dir, "config.json"), JSON.stringify({ model_type: "bert" }));
    await assert.rejects(new OnnxEmbedder(config({ path: m.dir })).warmUp(), invalid("hidden_size"));
  });

  void it("an onnx file transformers.js would not pick up is named in the error", async () => {
    const m = await writeTinyOnnxModel(join(root, "renamed"));
    await rm(join(m.dir, "onnx", "model.onnx"));
    await writeFile(join(m.dir, "onnx", "encoder.onnx"), "");
    await assert.rejects(new OnnxEmbedder(config({ path: m.dir })).warmUp(), invalid("found encoder.onnx"));
  });

  void it("a corrupt model file is CONFIG_INVALID, and the folder can be fixed and retried", async () => {
    const m = await writeTinyOnnxModel(join(root, "corrupt"));
    const good = join(root, "corrupt-backup.onnx");
    await rename(join(m.dir, "onnx", "model.onnx"), good);
    await writeFile(join(m.dir, "onnx", "model.onnx"), "not a model");
    const e = new OnnxEmbedder(config({ path: m.dir }));
    await assert.rejects(e.warmUp(), invalid("could not load onnx model"));
    await rename(good, join(m.dir, "onnx", "model.onnx"));
    await e.warmUp();
    assert.equal(e.dimensions, 16);
    await e.close();
  });
});

function meanOf(m: TinyOnnxModel, text: string): Float32Array {
  const ids = m.ids(text);
  const sum = new Float32Array(m.hiddenSize);
  for (const id of ids) m.row(id).forEach((x, i) => (sum[i] = (sum[i] as number) + x / ids.length));
  return sum;
}
