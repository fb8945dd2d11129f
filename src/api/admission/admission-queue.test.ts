import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { isSluiceError } from "../../contracts/errors.ts";
import { AdmissionQueue, type AdmissionRefusal } from "./admission-queue.ts";

/** A call that runs until released, recording when it started. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return {
    release: () => release(),
    fn: async () => {
      log.push(name);
      await released;
      return name;
    },
  };
}

const overloaded = (reason: AdmissionRefusal) => (err: unknown) =>
  isSluiceError(err) &&
  err.code === "OVERLOADED" &&
  (err.details as { reason?: string; retryAfterSeconds?: number }).reason === reason &&
  (err.details as { retryAfterSeconds?: number }).retryAfterSeconds! >= 1;

void describe("AdmissionQueue", () => {
  void it("runs at most maxConcurrent calls; the others start in order as slots free", async () => {
    const started: string[] = [];
    const q = new AdmissionQueue({ maxConcurrent: 2, maxQueued: 10, queueTimeoutMs: 5_000 });
    const calls = ["a", "b", "c", "d"].map((n) => gate(started, n));
    const results = calls.map((c) => q.run("t", c.fn));
    await sleep(5);
    assert.deepEqual(started, ["a", "b"]);
    assert.deepEqual([q.running, q.queued], [2, 2]);
    calls[1]!.release();
    await sleep(5);
    assert.deepEqual(started, ["a", "b", "c"]);
    for (const c of calls) c.release();
    assert.deepEqual(await Promise.all(results), ["a", "b", "c", "d"]);
    assert.deepEqual([q.running, q.queued], [0, 0]);
  });

  void it("refuses at once when maxQueued calls wait, and never runs the refused call", async () => {
    const started: string[] = [];
    const refused: AdmissionRefusal[] = [];
    const q = new AdmissionQueue(
      { maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 5_000 },
      { onRefused: (r) => refused.push(r) },
    );
    const [a, b, c] = ["a", "b", "c"].map((n) => gate(started, n));
    const ra = q.run("t", a!.fn);
    const rb = q.run("t", b!.fn);
    const t0 = performance.now();
    await assert.rejects(q.run("t", c!.fn), overloaded("full"));
    assert.ok(performance.now() - t0 < 1_000, "refused without waiting");
    a!.release();
    b!.release();
    assert.deepEqual([await ra, await rb], ["a", "b"]);
    assert.deepEqual(started, ["a", "b"]);
    assert.deepEqual(refused, ["full"]);
  });

  void it("refuses a call whose turn does not come within queueTimeoutMs, and frees its place", async () => {
    const started: string[] = [];
    const waits: number[] = [];
    const q = new AdmissionQueue(
      { maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 50 },
      { onAdmitted: (ms) => waits.push(ms) },
    );
    const [a, b, c] = ["a", "b", "c"].map((n) => gate(started, n));
    const ra = q.run("t", a!.fn);
    await assert.rejects(q.run("t", b!.fn), overloaded("timeout"));
    assert.equal(q.queued, 0);
    // Its place is free again: the next call may wait.
    const rc = q.run("t", c!.fn);
    a!.release();
    c!.release();
    assert.deepEqual([await ra, await rc], ["a", "c"]);
    assert.deepEqual(started, ["a", "c"], "the refused call never ran, even after a slot freed");
    assert.equal(waits.length, 2);
    assert.equal(waits[0], 0);
  });

  void it("serves tenants in turn: one tenant's burst does not starve another's query", async () => {
    const started: string[] = [];
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueued: 100, queueTimeoutMs: 5_000 });
    const first = gate(started, "busy-0");
    const all = [q.run("busy", first.fn)];
    const burst = Array.from({ length: 20 }, (_, i) => gate(started, `busy-${i + 1}`));
    for (const g of burst) all.push(q.run("busy", g.fn));
    const other = gate(started, "other");
    all.push(q.run("other", other.fn));
    first.release();
    await sleep(5);
    burst[0]!.release();
    await sleep(5);
    // After the running call and one more of the burst, the other tenant is next.
    assert.deepEqual(started, ["busy-0", "busy-1", "other"]);
    other.release();
    for (const g of burst) g.release();
    assert.equal((await Promise.all(all)).length, 22);
  });

  void it("passes on what the call throws, and frees its slot", async () => {
    const q = new AdmissionQueue({ maxConcurrent: 1, maxQueued: 0, queueTimeoutMs: 10 });
    await assert.rejects(
      q.run("t", () => Promise.reject(new Error("boom"))),
      /boom/,
    );
    assert.equal(await q.run("t", () => Promise.resolve(7)), 7);
  });

  void it("rejects limits that are not whole numbers in range", () => {
    assert.throws(() => new AdmissionQueue({ maxConcurrent: 0, maxQueued: 1, queueTimeoutMs: 1 }), /maxConcurrent/);
    assert.throws(() => new AdmissionQueue({ maxConcurrent: 1, maxQueued: -1, queueTimeoutMs: 1 }), /maxQueued/);
    assert.throws(() => new AdmissionQueue({ maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 1.5 }), /queueTimeoutMs/);
  });
});
