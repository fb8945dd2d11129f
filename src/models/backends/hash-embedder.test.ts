import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { cosine, describeDenseEmbedderConformance } from "../conformance.test-suite.ts";
import { HashEmbedder } from "./hash-embedder.ts";
import { asciiTokens, segmenterTokens, wordTokens } from "./word-tokens.ts";

describeDenseEmbedderConformance("hash", () => new HashEmbedder({ dimensions: 256 }));

void describe("HashEmbedder", () => {
  void it("names itself after its width and defaults to 256", () => {
    assert.equal(new HashEmbedder().id, "hash-256");
    assert.equal(new HashEmbedder({ dimensions: 64 }).id, "hash-64");
    assert.equal(new HashEmbedder({ dimensions: 64 }).dimensions, 64);
    assert.throws(() => new HashEmbedder({ dimensions: 0 }), RangeError);
  });

  void it("is deterministic across instances (vectors must not change under a stored id)", async () => {
    const [a] = await new HashEmbedder({ dimensions: 32 }).embed(["Hello, world"]);
    const [b] = await new HashEmbedder({ dimensions: 32 }).embed(["Hello, world"]);
    assert.deepEqual(a, b);
    // Golden value: changing tokenisation, hashing or weights changes stored vectors, so it must change the id too.
    const nonZero = [...(a ?? [])].flatMap((x, i) => (x === 0 ? [] : [`${i}:${x.toFixed(4)}`]));
    assert.deepEqual(nonZero, GOLDEN_HELLO_WORLD_32);
  });

  void it("lowercases: case does not change the vector", () => {
    const e = new HashEmbedder();
    assert.deepEqual(e.embedOne("The Cat SAT"), e.embedOne("the cat sat"));
  });

  void it("maps texts without letters or digits to the zero vector", () => {
    const e = new HashEmbedder({ dimensions: 16 });
    assert.deepEqual(e.embedOne(""), new Float32Array(16));
    assert.deepEqual(e.embedOne(" ... !? "), new Float32Array(16));
  });

  void it("shares trigram features between related word forms", () => {
    const e = new HashEmbedder({ dimensions: 1024 });
    assert.ok(
      cosine(e.embedOne("ingestion"), e.embedOne("ingest")) > cosine(e.embedOne("ingestion"), e.embedOne("retrieval")),
    );
  });

  void it("segments Thai into words, so texts sharing Thai words are similar", () => {
    assert.deepEqual(wordTokens("ภาษาไทยง่ายนิดเดียว"), ["ภาษา", "ไทย", "ง่าย", "นิด", "เดียว"]);
    const e = new HashEmbedder();
    const thai = e.embedOne("ภาษาไทยง่ายนิดเดียว");
    assert.ok(cosine(thai, e.embedOne("ภาษาไทย")) > 0.3);
    assert.ok(cosine(thai, e.embedOne("ภาษาไทย")) > cosine(thai, e.embedOne("สวัสดีครับ")) + 0.3);
  });
});

void describe("wordTokens", () => {
  void it("follows UAX #29 on ASCII", () => {
    assert.deepEqual(wordTokens("Don't panic: e-mail 1,000.5 a.b.c a_b __ x"), [
      "don't",
      "panic",
      "e",
      "mail",
      "1,000.5",
      "a.b.c",
      "a_b",
      "x",
    ]);
  });

  void it("ASCII scanner agrees with Intl.Segmenter on 20,000 random ASCII strings", () => {
    const alphabet = "ab1Z9_.:',; -\"\n\r\t!?()/@#%&*+=<>[]{}|\\~`^$";
    let seed = 42;
    const rand = (n: number) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed % n;
    };
    for (let t = 0; t < 20_000; t++) {
      let s = "";
      const len = 1 + rand(14);
      for (let i = 0; i < len; i++) s += alphabet[rand(alphabet.length)];
      assert.deepEqual(asciiTokens(s.toLowerCase()), segmenterTokens(s), `disagree on ${JSON.stringify(s)}`);
    }
  });
});

const GOLDEN_HELLO_WORLD_32: string[] = [
  "3:-0.2357",
  "4:-0.2357",
  "8:0.4714",
  "10:0.2357",
  "13:0.2357",
  "17:0.2357",
  "18:0.2357",
  "19:0.2357",
  "24:0.2357",
  "27:0.2357",
  "28:-0.4714",
  "31:0.2357",
];
