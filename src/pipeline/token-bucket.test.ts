import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { TokenBucket } from "./token-bucket.ts";

/** A clock that only moves when the bucket sleeps. */
function fakeTime() {
  let now = 0;
  const slept: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      slept.push(ms);
      now += ms;
    },
    advance: (ms: number) => (now += ms),
    slept,
  };
}

describe("TokenBucket", () => {
  it("spaces calls 1/perSecond apart once the burst is spent, in the order they asked", async () => {
    const time = fakeTime();
    const bucket = new TokenBucket({ perSecond: 4, burst: 2, now: time.now, sleep: time.sleep });
    for (let i = 0; i < 5; i++) await bucket.take();
    assert.deepEqual(time.slept, [250, 250, 250]);
  });

  it("refills while idle, up to the burst and no more", () => {
    const time = fakeTime();
    const bucket = new TokenBucket({ perSecond: 10, burst: 3, now: time.now, sleep: time.sleep });
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0, 100]);
    time.advance(10_000);
    assert.deepEqual([bucket.reserve(), bucket.reserve(), bucket.reserve(), bucket.reserve()], [0, 0, 0, 100]);
  });

  it("an abort while waiting rejects with the signal's reason", async () => {
    const bucket = new TokenBucket({ perSecond: 0.001 });
    await bucket.take();
    const controller = new AbortController();
    const waiting = bucket.take(controller.signal);
    controller.abort(new Error("cancelled"));
    await assert.rejects(waiting, /cancelled/);
  });

  it("refuses a rate or burst that is not a positive number with CONFIG_INVALID", () => {
    assert.throws(() => new TokenBucket({ perSecond: 0 }), { code: "CONFIG_INVALID" });
    assert.throws(() => new TokenBucket({ perSecond: 1, burst: 0.5 }), { code: "CONFIG_INVALID" });
  });
});
