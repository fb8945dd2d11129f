import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as tick, setTimeout as sleep } from "node:timers/promises";
import { AdaptiveLimit } from "./adaptive-limit.ts";

type Release = Awaited<ReturnType<AdaptiveLimit["acquire"]>>;

/** Whether a promise has settled, after letting pending callbacks run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

async function hold(limit: AdaptiveLimit, n: number): Promise<Release[]> {
  const releases: Release[] = [];
  for (let i = 0; i < n; i++) releases.push(await limit.acquire());
  return releases;
}

/** A small deterministic PRNG (mulberry32), so a failing stress run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

async function randomPause(rand: () => number): Promise<void> {
  const r = rand();
  if (r < 0.3) return;
  if (r < 0.6) await Promise.resolve();
  else if (r < 0.9) await tick();
  else await sleep(1);
}

void describe("AdaptiveLimit", () => {
  void it("rejects a max below 1 or not an integer", () => {
    for (const max of [0, -1, 1.5, Number.NaN]) assert.throws(() => new AdaptiveLimit(max), RangeError, `max ${max}`);
    assert.equal(new AdaptiveLimit(1).window, 1);
  });

  void it("lets at most `window` acquisitions be outstanding; the next waits until a release", async () => {
    const limit = new AdaptiveLimit(3);
    assert.equal(limit.window, 3);
    const held = await hold(limit, 3);
    assert.equal(limit.inFlight, 3);
    const fourth = limit.acquire();
    assert.equal(await settled(fourth), false);
    held[0]!("ok");
    const release = await fourth;
    assert.equal(limit.inFlight, 3);
    release("ok");
    held[1]!("ok");
    held[2]!("ok");
    assert.equal(limit.inFlight, 0);
  });

  void it("halves the window on 'overloaded', never below 1", async () => {
    const limit = new AdaptiveLimit(8);
    const windows: number[] = [];
    for (let i = 0; i < 5; i++) {
      (await limit.acquire())("overloaded");
      windows.push(limit.window);
    }
    assert.deepEqual(windows, [4, 2, 1, 1, 1]);
    // The narrowed window is enforced.
    const [only] = await hold(limit, 1);
    const next = limit.acquire();
    assert.equal(await settled(next), false);
    only!("error");
    (await next)("error");
  });

  void it("grows the window back by 1/window per 'ok', up to max; 'error' leaves it alone", async () => {
    const limit = new AdaptiveLimit(4);
    for (let i = 0; i < 3; i++) (await limit.acquire())("overloaded");
    assert.equal(limit.window, 1);
    (await limit.acquire())("error");
    assert.equal(limit.window, 1);
    const windows: number[] = [];
    for (let i = 0; i < 9; i++) {
      (await limit.acquire())("ok");
      windows.push(limit.window);
    }
    // 1 → 2 → 2.5 → 2.9 → 3.24 → 3.55 → 3.83 → 4 (capped)
    assert.deepEqual(windows, [2, 2, 2, 3, 3, 3, 4, 4, 4]);
    assert.equal(limit.max, 4);
    await hold(limit, 4);
    assert.equal(limit.inFlight, 4);
  });

  void it("admits waiters when an 'ok' widens the window", async () => {
    const limit = new AdaptiveLimit(2);
    (await limit.acquire())("overloaded");
    assert.equal(limit.window, 1);
    const [a] = await hold(limit, 1);
    const waiters = [limit.acquire(), limit.acquire()];
    assert.equal(await settled(waiters[0]!), false);
    a!("ok"); // window 1 → 2, one slot freed: both waiters fit
    const released = await Promise.all(waiters);
    assert.equal(limit.inFlight, 2);
    for (const r of released) r("ok");
  });

  void it("serves waiters in FIFO order", async () => {
    const limit = new AdaptiveLimit(1);
    const [first] = await hold(limit, 1);
    const order: number[] = [];
    const waiters = Array.from({ length: 6 }, (_, i) =>
      limit.acquire().then(async (release) => {
        order.push(i);
        await tick();
        release("ok");
      }),
    );
    first!("ok");
    await Promise.all(waiters);
    assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
    assert.equal(limit.inFlight, 0);
  });

  void it("a newcomer does not jump the queue ahead of waiters", async () => {
    const limit = new AdaptiveLimit(1);
    const [first] = await hold(limit, 1);
    const order: string[] = [];
    const waiter = limit.acquire().then((release) => {
      order.push("waiter");
      release("ok");
    });
    first!("ok");
    // The slot was handed to the waiter on release, so a newcomer arriving now must wait its turn.
    const newcomer = limit.acquire().then((release) => {
      order.push("newcomer");
      release("ok");
    });
    await Promise.all([waiter, newcomer]);
    assert.deepEqual(order, ["waiter", "newcomer"]);
  });

  void it("an aborted waiter leaves the queue with the abort reason and takes no slot", async () => {
    const limit = new AdaptiveLimit(1);
    const [held] = await hold(limit, 1);
    const controller = new AbortController();
    const aborted = limit.acquire(controller.signal);
    const next = limit.acquire();
    const reason = new Error("caller gave up");
    controller.abort(reason);
    await assert.rejects(aborted, (err: unknown) => err === reason);
    assert.equal(limit.inFlight, 1);
    held!("ok");
    const release = await next;
    assert.equal(limit.inFlight, 1, "the slot went to the next waiter, not the aborted one");
    release("ok");
    assert.equal(limit.inFlight, 0);
  });

  void it("rejects at once with the reason when the signal is already aborted", async () => {
    const limit = new AdaptiveLimit(2);
    const reason = new Error("already gone");
    await assert.rejects(limit.acquire(AbortSignal.abort(reason)), (err: unknown) => err === reason);
    assert.equal(limit.inFlight, 0);
  });

  void it("ignores a second release of the same slot", async () => {
    const limit = new AdaptiveLimit(4);
    const [a, b] = await hold(limit, 2);
    a!("overloaded");
    a!("overloaded");
    assert.equal(limit.window, 2, "halved once, not twice");
    assert.equal(limit.inFlight, 1);
    const more = await hold(limit, 1);
    assert.equal(limit.inFlight, 2);
    const waiting = limit.acquire();
    b!("error");
    b!("error");
    const c = await waiting;
    assert.equal(limit.inFlight, 2, "the double release did not free an extra slot");
    const extra = limit.acquire();
    assert.equal(await settled(extra), false);
    c("ok");
    (await extra)("ok");
    more[0]!("ok");
    assert.equal(limit.inFlight, 0);
  });

  void it("a synchronous burst of releases admits only as many waiters as the window allows", async () => {
    const limit = new AdaptiveLimit(4);
    const held = await hold(limit, 4);
    let admitted = 0;
    const waiters = Array.from({ length: 10 }, () => limit.acquire().then((release) => (admitted++, release)));
    held[0]!("overloaded"); // window 4 → 2: in flight 3, nobody admitted
    for (const release of held.slice(1)) release("error"); // window stays 2 while 3 slots free up
    await tick();
    assert.equal(limit.window, 2);
    assert.equal(admitted, 2);
    assert.equal(limit.inFlight, 2);
    // Drain: everyone gets a turn eventually.
    let running = 0;
    await Promise.all(
      waiters.map(async (w) => {
        const release = await w;
        running++;
        assert.ok(running <= limit.window, `${running} running with window ${limit.window}`);
        await tick();
        running--;
        release("error");
      }),
    );
    assert.equal(limit.inFlight, 0);
  });

  void it("never has more than `window` holders at once under a stress loop with random awaits", async () => {
    for (const seed of [1, 2, 3]) {
      const rand = random(seed);
      const limit = new AdaptiveLimit(3);
      let running = 0;
      let peak = 0;
      await Promise.all(
        Array.from({ length: 150 }, async () => {
          await randomPause(rand);
          const release = await limit.acquire();
          running++;
          peak = Math.max(peak, running);
          assert.ok(running <= limit.window, `seed ${seed}: ${running} holders with window ${limit.window}`);
          assert.ok(limit.inFlight <= limit.window);
          await randomPause(rand);
          running--;
          release(rand() < 0.5 ? "ok" : "error");
        }),
      );
      assert.equal(peak, 3, "the loop did fill the window");
      assert.equal(limit.inFlight, 0);
    }
  });

  void it("keeps an exact count, within max, while the window shrinks and grows under random outcomes and aborts", async () => {
    const rand = random(42);
    const limit = new AdaptiveLimit(6);
    let running = 0;
    let aborted = 0;
    await Promise.all(
      Array.from({ length: 300 }, async () => {
        await randomPause(rand);
        const controller = new AbortController();
        if (rand() < 0.1) setImmediate(() => controller.abort(new Error("gave up")));
        let release: Release;
        try {
          release = await limit.acquire(controller.signal);
        } catch {
          aborted++;
          return;
        }
        running++;
        // A window that shrank after a holder got in can be below the holders, but max never is,
        // and every holder is counted.
        assert.ok(
          running <= limit.inFlight && limit.inFlight <= limit.max,
          `${running} running, ${limit.inFlight} in flight`,
        );
        await randomPause(rand);
        running--;
        const r = rand();
        release(r < 0.2 ? "overloaded" : r < 0.9 ? "ok" : "error");
      }),
    );
    assert.ok(aborted > 0, "some waiters were aborted");
    assert.equal(limit.inFlight, 0);
    assert.ok(limit.window >= 1 && limit.window <= limit.max);
  });
});
