import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSluiceError } from "../contracts/errors.ts";
import { matchesMetaFilter, metaFilterKey, parseCliFilter, parseMetaFilter } from "./meta-filter.ts";

describe("metadata filters", () => {
  const paper = { year: 2021, lang: "th", kind: "paper", published: "2021-05-01", open: true };

  it("matches equality, any-of and ranges; a missing field never matches", () => {
    assert.ok(matchesMetaFilter(paper, { lang: "th", year: { gte: 2020, lt: 2022 } }));
    assert.ok(matchesMetaFilter(paper, { kind: { in: ["trial", "paper"] }, open: true }));
    assert.ok(matchesMetaFilter(paper, { published: { gte: "2021-01-01", lte: "2021-12-31" } }));
    assert.ok(!matchesMetaFilter(paper, { year: { gt: 2021 } }));
    assert.ok(!matchesMetaFilter(paper, { year: "2021" }), "a string is not the number");
    assert.ok(!matchesMetaFilter(paper, { year: { gte: "2020" } }), "strings compare with strings only");
    assert.ok(!matchesMetaFilter(paper, { author: "x" }));
    assert.ok(!matchesMetaFilter(paper, { author: { lt: 5 } }));
  });

  it("refuses a malformed filter, naming the key", () => {
    for (const bad of [{ year: {} }, { year: { between: [1, 2] } }, { year: [2020] }, "lang=th"]) {
      assert.throws(
        () => parseMetaFilter(bad),
        (e: unknown) => isSluiceError(e) && e.code === "VALIDATION_FAILED" && /^filter/.test(e.message),
        JSON.stringify(bad),
      );
    }
  });

  it("reads the CLI's --filter expressions", () => {
    assert.deepEqual(parseCliFilter(["year>=2020", "year<2023", "lang=th", "kind=trial,paper", "open=true"]), {
      year: { gte: 2020, lt: 2023 },
      lang: "th",
      kind: { in: ["trial", "paper"] },
      open: true,
    });
    assert.throws(() => parseCliFilter(["year"]), /--filter "year": expected key=value/);
  });

  it("keys a filter for caches whatever its key order", () => {
    assert.equal(metaFilterKey({ a: 1, b: "x" }), metaFilterKey({ b: "x", a: 1 }));
    assert.notEqual(metaFilterKey({ a: 1 }), metaFilterKey({ a: 2 }));
  });
});
