import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { RateLimitStore } from "./rate-limit-store.ts";

/**
 * The behaviour every RateLimitStore adapter must show. Run it from each adapter's test file;
 * each test uses keys of its own, so one store serves the whole suite.
 *
 * @example
 * describeRateLimitStoreConformance("memory", async () => new MemoryRateLimitStore());
 */
export function describeRateLimitStoreConformance(name: string, factory: () => Promise<RateLimitStore>): void {
  describe(`RateLimitStore conformance: ${name}`, () => {
    let store: RateLimitStore;
    const key = () => `conformance:${randomUUID()}`;
    before(async () => {
      store = await factory();
    });
    after(async () => store.close());

    it("allows `limit` requests in a window, counting `remaining` down, then refuses with a retry time inside the window", async () => {
      const k = key();
      const decisions = [];
      for (let i = 0; i < 4; i++) decisions.push(await store.hit(k, 3, 60_000));
      assert.deepEqual(decisions.slice(0, 3), [
        { allowed: true, remaining: 2, retryAfterMs: 0 },
        { allowed: true, remaining: 1, retryAfterMs: 0 },
        { allowed: true, remaining: 0, retryAfterMs: 0 },
      ]);
      const refused = decisions[3]!;
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 60_000, `retryAfterMs ${refused.retryAfterMs}`);
    });

    it("keys are independent: one client over its limit does not limit another", async () => {
      const a = key();
      const b = key();
      assert.equal((await store.hit(a, 1, 60_000)).allowed, true);
      assert.equal((await store.hit(a, 1, 60_000)).allowed, false);
      assert.equal((await store.hit(b, 1, 60_000)).allowed, true);
    });

    it("refused requests are not counted: the next one is allowed once the window has moved past the counted ones", async () => {
      const k = key();
      const windowMs = 300;
      assert.equal((await store.hit(k, 2, windowMs)).allowed, true);
      assert.equal((await store.hit(k, 2, windowMs)).allowed, true);
      let refused = await store.hit(k, 2, windowMs);
      assert.equal(refused.allowed, false);
      refused = await store.hit(k, 2, windowMs);
      assert.equal(refused.allowed, false, "still refused: refusals do not reset anything");
      // Waiting the time it gave is enough (a margin covers timer and clock granularity).
      await sleep(refused.retryAfterMs + 50);
      const again = await store.hit(k, 2, windowMs);
      assert.equal(again.allowed, true);
    });

    it("concurrent hits are atomic: of 50 at once against a limit of 10, exactly 10 pass", async () => {
      const k = key();
      const decisions = await Promise.all(Array.from({ length: 50 }, () => store.hit(k, 10, 60_000)));
      assert.equal(decisions.filter((d) => d.allowed).length, 10);
      assert.deepEqual(
        decisions
          .filter((d) => d.allowed)
          .map((d) => d.remaining)
          .sort((x, y) => x - y),
        [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      );
    });
  });
}
