import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chunkText } from "./chunk-text.ts";

const wordBoundaries = (text: string, locale: string) => {
  const set = new Set<number>([0, text.length]);
  for (const s of new Intl.Segmenter(locale, { granularity: "word" }).segment(text)) {
    set.add(s.index);
    set.add(s.index + s.segment.length);
  }
  return set;
};

describe("chunkText", () => {
  it("keeps sentences whole and chunks near the target size", () => {
    const sentences = Array.from(
      { length: 40 },
      (_, i) => `Sentence number ${i} talks about ingest jobs and their stages.`,
    );
    const text = sentences.join(" ");
    const chunks = chunkText(text, { size: 300, overlap: 0 });
    assert.ok(chunks.length > 5);
    for (const c of chunks) {
      assert.ok(c.text.length <= 300, `chunk of ${c.text.length} chars`);
      assert.match(c.text, /^Sentence number \d+/);
      assert.match(c.text, /stages\.$/);
      assert.equal(text.slice(c.start, c.end), c.text);
    }
    // Without overlap, the chunks cover every sentence exactly once.
    assert.equal(chunks.map((c) => c.text).join(" "), text);
  });

  it("repeats whole trailing sentences as overlap", () => {
    const text = Array.from({ length: 12 }, (_, i) => `Point ${i} is here.`).join(" ");
    const chunks = chunkText(text, { size: 80, overlap: 40 });
    for (let i = 1; i < chunks.length; i++) {
      const firstSentence = chunks[i]!.text.split(". ")[0]!;
      assert.ok(chunks[i - 1]!.text.includes(firstSentence), `chunk ${i} starts with a sentence from chunk ${i - 1}`);
    }
  });

  it("cuts unspaced Thai text only at word boundaries", () => {
    const thai = "ภาษาไทยเป็นภาษาที่ไม่มีการเว้นวรรคระหว่างคำ การตัดคำจึงต้องใช้พจนานุกรม ".repeat(30);
    const chunks = chunkText(thai, { size: 120, overlap: 0, locale: "th" });
    assert.ok(chunks.length > 10);
    const bounds = wordBoundaries(thai, "th");
    for (const c of chunks) {
      assert.ok(c.text.length <= 120);
      assert.ok(
        bounds.has(c.start) && bounds.has(c.end),
        `chunk [${c.start}, ${c.end}) cuts a word: ${c.text.slice(0, 20)}…`,
      );
    }
    assert.equal(
      chunks
        .map((c) => c.text)
        .join("")
        .replace(/\s/g, ""),
      thai.replace(/\s/g, ""),
    );
  });
});
