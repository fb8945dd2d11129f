import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { LruCache } from "./lru-cache.ts";

describe("LruCache", () => {
  it("forgets the least recently used entry first; a hit counts as a use", () => {
    const cache = new LruCache<string, number>(2);
    cache.set("a", 1);
    cache.set("b", 2);
    assert.equal(cache.get("a"), 1);
    cache.set("c", 3);
    assert.equal(cache.get("b"), undefined);
    assert.equal(cache.get("a"), 1);
    assert.equal(cache.get("c"), 3);
    assert.equal(cache.length, 2);
  });

  it("size 0 holds nothing; a bad size is refused", () => {
    const off = new LruCache<string, number>(0);
    off.set("a", 1);
    assert.equal(off.get("a"), undefined);
    assert.throws(() => new LruCache(-1), /whole number/);
  });
});
