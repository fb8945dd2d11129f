import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { charErrorRate, normalizeForCer } from "./char-error-rate.ts";

describe("charErrorRate", () => {
  it("is 0 for identical text and counts one substitution per reference character", () => {
    assert.equal(charErrorRate("kitten", "kitten"), 0);
    assert.equal(charErrorRate("The cat sat", "The bat sat"), 1 / 9);
  });

  it("counts insertions and deletions, and can exceed 1", () => {
    assert.equal(charErrorRate("kitten", "sitting"), 3 / 6); // the textbook distance of 3
    assert.equal(charErrorRate("abc", "ab"), 1 / 3);
    assert.equal(charErrorRate("ab", "abxyzw"), 4 / 2);
  });

  it("ignores all whitespace, so Thai read with or without spaces scores the same", () => {
    assert.equal(charErrorRate("กรุงเทพมหานคร", "กรุง เทพ มหา นคร"), 0);
    assert.equal(charErrorRate("one two\nthree", "one  two three\n"), 0);
    assert.equal(charErrorRate("ไทย", "ไ\u200Bท ย"), 0);
  });

  it("counts code points: a Thai tone mark is one character, an astral emoji is one", () => {
    assert.equal(charErrorRate("ไก่", "ไก"), 1 / 3);
    assert.equal(charErrorRate("a😀b", "ab"), 1 / 3);
  });

  it("treats tesseract's split SARA AM (U+0E4D U+0E32) as U+0E33, with or without a tone mark between", () => {
    assert.equal(charErrorRate("ทำงาน", "ท\u0E4D\u0E32งาน"), 0);
    assert.equal(charErrorRate("น้ำ", "น\u0E4D\u0E49\u0E32"), 0);
    assert.equal(charErrorRate("น้ำ", "น\u0E49\u0E4D\u0E32"), 0);
  });

  it("compares in NFC, so decomposed accents match precomposed ones", () => {
    assert.equal(charErrorRate("café", "cafe\u0301"), 0);
  });

  it("keeps case and punctuation", () => {
    assert.equal(charErrorRate("Hello, world.", "hello world"), 3 / 12);
  });

  it("is 0 for two empty texts and Infinity for text against an empty reference", () => {
    assert.equal(charErrorRate(" \n", ""), 0);
    assert.equal(charErrorRate("", "x"), Infinity);
  });
});

describe("normalizeForCer", () => {
  it("applies NFC, the SARA AM fix and removes whitespace", () => {
    assert.equal(normalizeForCer(" น\u0E49\u0E4D\u0E32 ใส\n"), "น\u0E49\u0E33ใส");
    assert.equal(normalizeForCer("e\u0301 x"), "\u00E9x");
  });
});
