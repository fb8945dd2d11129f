import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { analyze } from "./analyzer.ts";

describe("analyze", () => {
  it("lowercases, splits words and drops English stop words", () => {
    assert.deepEqual(analyze("How do I resume a Failed job?"), ["how", "do", "i", "resume", "failed", "job"]);
  });
  it("segments Thai into dictionary words", () => {
    assert.deepEqual(analyze("ภาษาไทยง่าย"), ["ภาษา", "ไทย", "ง่าย"]);
  });
  it("removes Arabic diacritics so vocalised and plain spellings match", () => {
    assert.deepEqual(analyze("كَتَبَ"), analyze("كتب"));
  });
});
