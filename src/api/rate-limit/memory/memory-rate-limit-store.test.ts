import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { describeRateLimitStoreConformance } from "../rate-limit-store.conformance.ts";
import { MemoryRateLimitStore } from "./memory-rate-limit-store.ts";

describeRateLimitStoreConformance("memory", async () => new MemoryRateLimitStore());

void describe("MemoryRateLimitStore", () => {
  void it("slides: a request leaves the window exactly windowMs after it was counted", async () => {
    let now = 1_000;
    const store = new MemoryRateLimitStore({ now: () => now });
    assert.equal((await store.hit("k", 2, 100)).allowed, true);
    now = 1_050;
    assert.equal((await store.hit("k", 2, 100)).allowed, true);
    now = 1_099;
    assert.deepEqual(await store.hit("k", 2, 100), { allowed: false, remaining: 0, retryAfterMs: 1 });
    now = 1_100;
    assert.deepEqual(
      await store.hit("k", 2, 100),
      { allowed: true, remaining: 0, retryAfterMs: 0 },
      "the first hit left; the one at 1050 is still in",
    );
    assert.deepEqual(await store.hit("k", 2, 100), { allowed: false, remaining: 0, retryAfterMs: 50 });
  });
});
