import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { assertSameVector, cosine, describeDenseEmbedderConformance } from "../conformance.test-suite.ts";
import { PieceVocabulary } from "./piece-vocabulary.ts";
import { StaticEmbedder, type StaticEmbedderOptions } from "./static-embedder.ts";
import type { WordTeacher } from "./use-lite-teacher.ts";

const DIMENSIONS = 64;

/** A tiny vocabulary: reserved ids 0-5, then pieces with unigram log-probabilities. */
const VOCAB: Array<[string, number]> = [
  ["<unk>", 0],
  ["<s>", 0],
  ["</s>", 0],
  ["x1", 0],
  ["x2", 0],
  ["x3", 0],
  ["▁the", -3],
  ["▁a", -4],
  ["▁", -5],
  ...[..."abcdefghijklmnopqrstuvwxyz0123456789'"].map((c): [string, number] => [c, -8]),
  ["▁cat", -9],
  ["▁dog", -9],
  ["▁mat", -10],
  ["▁sat", -10],
  ["▁on", -5],
];

/** Deterministic pseudo-random unit vectors from a string: a stand-in for USE-lite that counts its calls. */
class FakeTeacher implements WordTeacher {
  readonly dimensions = DIMENSIONS;
  wordCalls: string[][] = [];
  pieceCalls = 0;
  closed = false;

  constructor(readonly id = "fake-teacher@1") {}

  async embedWords(words: readonly string[]): Promise<Float32Array[]> {
    this.wordCalls.push([...words]);
    return words.map((w) => vectorOf(`word:${w}`));
  }

  async embedPieces(ids: readonly number[]): Promise<Float32Array[]> {
    this.pieceCalls++;
    return ids.map((id) => vectorOf(`piece:${VOCAB[id]![0]}`));
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  get wordsSent(): string[] {
    return this.wordCalls.flat();
  }
}

function vectorOf(key: string): Float32Array {
  let h = 2166136261;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 16777619);
  const v = new Float32Array(DIMENSIONS);
  let n = 0;
  for (let j = 0; j < DIMENSIONS; j++) {
    h = Math.imul(h ^ (h >>> 15), 2246822507) >>> 0;
    v[j] = (h / 2 ** 32) * 2 - 1;
    n += v[j]! * v[j]!;
  }
  return v.map((x) => x / Math.sqrt(n));
}

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function tempCache(): string {
  const dir = mkdtempSync(join(tmpdir(), "sluice-static-"));
  dirs.push(dir);
  return join(dir, "static-embedder.db");
}

function embedderWith(teacher: FakeTeacher, options: StaticEmbedderOptions = {}): StaticEmbedder {
  return new StaticEmbedder({ teacher, vocabulary: async () => new PieceVocabulary(VOCAB), ...options });
}

describeDenseEmbedderConformance("static (fake teacher)", () => embedderWith(new FakeTeacher()));

void describe("StaticEmbedder", () => {
  void it("gives the same text the same unit vector, and a query the vector of its ingested passage", async () => {
    const e = embedderWith(new FakeTeacher());
    const [passage] = await e.embed(["The cat sat on the mat"], { kind: "passage" });
    const [again] = await e.embed(["the cat sat on the mat"]);
    const [query] = await e.embed(["the cat sat on the mat"], { kind: "query" });
    assertSameVector(again, passage, 1e-6, "passage again");
    assertSameVector(query, passage, 1e-6, "query");
    assert.ok(Math.abs(cosine(passage!, passage!) - 1) < 1e-5);
    await e.close();
  });

  void it("sends each unseen word of a batch to the teacher once, and never again", async () => {
    const teacher = new FakeTeacher();
    const e = embedderWith(teacher);
    await e.warmUp();
    assert.equal(teacher.pieceCalls, 1, "the piece table is embedded once, at warm-up");
    await e.embed(["the cat sat", "the dog sat", "cat cat"]);
    assert.deepEqual(teacher.wordsSent.sort(), ["cat", "dog", "sat", "the"]);
    assert.equal(teacher.wordCalls.length, 1, "one teacher call for the whole batch");
    await e.embed(["the dog", "a cat"]);
    assert.deepEqual(teacher.wordCalls.at(-1), ["a"]);
    // Concurrent batches ask for a shared unseen word once.
    await Promise.all([e.embed(["mat one"]), e.embed(["mat two"])]);
    assert.equal(teacher.wordsSent.filter((w) => w === "mat").length, 1);
    await e.close();
  });

  void it("a new data folder copies the piece table from the machine-wide seed instead of asking the teacher", async () => {
    const seedPath = join(tempCache(), "..", "machine", "static-pieces.db");
    const first = new FakeTeacher();
    const e1 = embedderWith(first, { cachePath: tempCache(), seedPath });
    await e1.warmUp();
    assert.equal(first.pieceCalls, 1, "the first folder computes the table and leaves it as the seed");
    const [v1] = await e1.embed(["the cat sat"], { kind: "passage" });
    const second = new FakeTeacher();
    const e2 = embedderWith(second, { cachePath: tempCache(), seedPath });
    await e2.warmUp();
    assert.equal(second.pieceCalls, 0, "another folder copies it");
    assert.equal(e2.id, e1.id);
    const [v2] = await e2.embed(["the cat sat"], { kind: "passage" });
    assertSameVector(v2, v1, 1e-6, "same words, same vector");
    // A seed written by another teacher is not taken.
    const other = new FakeTeacher("fake-teacher@2");
    const e3 = embedderWith(other, { cachePath: tempCache(), seedPath });
    await e3.warmUp();
    assert.equal(other.pieceCalls, 1);
    await Promise.all([e1.close(), e2.close(), e3.close()]);
  });

  void it("keeps the words and the piece table across reopening, with the same id and vectors", async () => {
    const cachePath = tempCache();
    const first = new FakeTeacher();
    const e1 = embedderWith(first, { cachePath });
    const [before] = await e1.embed(["the cat sat on the mat"]);
    const id = e1.id;
    await e1.close();

    const second = new FakeTeacher();
    const e2 = embedderWith(second, { cachePath, memoryWords: 2 });
    const [afterReopen] = await e2.embed(["the cat sat on the mat"]);
    assert.equal(e2.id, id);
    assert.equal(second.pieceCalls, 0, "piece table read from the file");
    assert.deepEqual(second.wordsSent, [], "words read from the file");
    assertSameVector(afterReopen, before, 1e-6, "reopened");
    assert.equal(await e2.storedWords(), 5);
    await e2.close();
  });

  void it("embeds unseen query words from their pieces, without calling the teacher", async () => {
    const teacher = new FakeTeacher();
    const e = embedderWith(teacher);
    const [query] = await e.embed(["cats sat"], { kind: "query" });
    assert.deepEqual(teacher.wordsSent, []);
    assert.ok(Math.abs(cosine(query!, query!) - 1) < 1e-5);
    const [passage] = await e.embed(["cats sat"], { kind: "passage" });
    assert.deepEqual(teacher.wordsSent.sort(), ["cats", "sat"]);
    assert.ok(cosine(query!, passage!) < 0.999, "once taught, the word's own vector replaces its pieces");
    await e.close();
  });

  void it("changes its id with a, the teacher and the vocabulary, and names itself unwarmed before warm-up", async () => {
    const ids = async (options: StaticEmbedderOptions, teacher = new FakeTeacher()) => {
      const e = embedderWith(teacher, options);
      assert.equal(e.id, "static-use-lite@unwarmed");
      await e.warmUp();
      const id = e.id;
      await e.close();
      return id;
    };
    const base = await ids({});
    assert.match(base, /^static-use-lite@[0-9a-f]{16}$/);
    assert.equal(await ids({}), base, "stable");
    assert.notEqual(await ids({ a: 1e-3 }), base);
    assert.notEqual(await ids({}, new FakeTeacher("fake-teacher@2")), base);
    assert.notEqual(
      await ids({ vocabulary: async () => new PieceVocabulary(VOCAB.map(([p, s]) => [p, s - 1])) }),
      base,
    );
  });

  void it("never sends the teacher words it cannot read (characters outside its vocabulary, long tokens)", async () => {
    const teacher = new FakeTeacher();
    const e = embedderWith(teacher);
    const long = "x".repeat(33);
    const [a] = await e.embed([`the cat ภาษา ${long}`]);
    assert.deepEqual(teacher.wordsSent.sort(), ["cat", "the"]);
    const [b] = await e.embed([`the cat ภาษา ${long}`], { kind: "query" });
    assertSameVector(b, a, 1e-6, "query");
    await e.close();
  });

  void it("weights rare words above common ones", async () => {
    const e = embedderWith(new FakeTeacher());
    const [text, cat, the] = await e.embed(["the cat", "cat", "the"]);
    assert.ok(cosine(text!, cat!) > cosine(text!, the!));
    await e.close();
  });

  void it("empties a cache file written by another teacher", async () => {
    const cachePath = tempCache();
    const e1 = embedderWith(new FakeTeacher(), { cachePath });
    await e1.embed(["the cat"]);
    await e1.close();
    const other = new FakeTeacher("fake-teacher@2");
    const e2 = embedderWith(other, { cachePath });
    assert.equal(await e2.storedWords(), 0);
    assert.equal(other.pieceCalls, 1);
    await e2.close();
  });
});
