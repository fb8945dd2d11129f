import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LeaseKeeper, type LeaseKeeperOptions } from "./lease-keeper.ts";
import { sqliteStores } from "./sqlite/sqlite-stores.ts";
import type { AdmittedDocument, Lease } from "./work-queue.ts";

const OWNER = "host:1:keeper";
/** Renewals are due every third of it: 1,000 ms on the injected clock. */
const LEASE_MS = 3_000;

const doc = (id: string): AdmittedDocument => ({
  ref: { id, source: `${id}.txt`, kind: "inline", text: "t", meta: {} },
  lane: "normal",
  envelope: new TextEncoder().encode("x"),
});

/** Resolves when `count()` reaches `n`; a check on each macrotask, never a time threshold. */
async function until(count: () => number, n: number): Promise<void> {
  while (count() < n) await sleep(1);
}

describe("LeaseKeeper", () => {
  let stores: ReturnType<typeof sqliteStores>;
  let clock: number;

  beforeEach(async () => {
    stores = sqliteStores(join(mkdtempSync(join(tmpdir(), "sluice-keeper-")), "ledger.db"));
    await stores.open();
    clock = 1_000_000;
  });
  afterEach(async () => stores.close());

  /** A sealed job with `ids` admitted; `lease` of them leased by OWNER (all by default). */
  async function leasedJob(
    ids: string[],
    lease: { leaseMs?: number; now?: number; max?: number } = {},
  ): Promise<{ jobId: string; leases: Lease[] }> {
    const job = await stores.ledger.createJob({ collection: "c", pipeline: "auto", paths: [] });
    await stores.queue.admit(job.id, ids.map(doc));
    await stores.ledger.sealJob(job.id);
    const leases = await stores.queue.lease(OWNER, lease.max ?? ids.length, lease.leaseMs ?? LEASE_MS, {
      jobId: job.id,
      ...(lease.now !== undefined ? { now: lease.now } : {}),
    });
    return { jobId: job.id, leases };
  }

  const keeperWith = (options: Partial<LeaseKeeperOptions> = {}): LeaseKeeper =>
    new LeaseKeeper({
      queue: stores.queue,
      ledger: stores.ledger,
      owner: OWNER,
      leaseMs: LEASE_MS,
      heartbeatMs: 250,
      now: () => clock,
      ...options,
    });

  it("renews the leases it tracks, so a recovery sweep just after their original expiry finds nothing", async () => {
    const t0 = Date.now();
    // Leased half a second ago for one second: without renewal it expires at t0 + 500.
    const { leases } = await leasedJob(["a", "b"], { leaseMs: 1_000, now: t0 - 500 });
    const keeper = keeperWith({ leaseMs: 1_000 });
    for (const l of leases) keeper.track(l.seq, l.jobId);

    await keeper.tick();

    assert.deepEqual(await stores.queue.recover(() => true, t0 + 501), { suspects: 0, blamed: 0 });
    assert.deepEqual(await stores.queue.renew(OWNER, keeper.held, 1_000), [], "both leases are still this owner's");
  });

  it("renews at most once every leaseMs / 3, and not at all with nothing tracked", async (t) => {
    const renew = t.mock.method(stores.queue, "renew");
    const keeper = keeperWith();
    await keeper.tick();
    assert.equal(renew.mock.callCount(), 0, "nothing tracked: no write");

    const { jobId, leases } = await leasedJob(["a"]);
    keeper.track(leases[0]!.seq, jobId);
    await keeper.tick();
    assert.equal(renew.mock.callCount(), 1);
    assert.deepEqual(renew.mock.calls[0]!.arguments, [OWNER, [leases[0]!.seq], LEASE_MS]);

    clock += 999;
    await keeper.tick();
    assert.equal(renew.mock.callCount(), 1, "999 ms after the last renewal: not yet");
    clock += 1;
    await keeper.tick();
    assert.equal(renew.mock.callCount(), 2, "1,000 ms after it: due");
    clock += 500;
    await keeper.tick();
    clock += 499;
    await keeper.tick();
    assert.equal(renew.mock.callCount(), 2);
    clock += 1;
    await keeper.tick();
    assert.equal(renew.mock.callCount(), 3, "counted from the last renewal, not from the last tick");
  });

  it("reports a lease another process recovered through onLost, once per renewing tick, until it is untracked", async () => {
    const t0 = Date.now();
    const job = await stores.ledger.createJob({ collection: "c", pipeline: "auto", paths: [] });
    await stores.queue.admit(job.id, [doc("a"), doc("b")]);
    await stores.ledger.sealJob(job.id);
    const [stale] = await stores.queue.lease(OWNER, 1, 1_000, { jobId: job.id, now: t0 - 500 });
    const [kept] = await stores.queue.lease(OWNER, 1, 60_000, { jobId: job.id });
    // Another process sweeps the expired lease and runs the document itself.
    assert.deepEqual(await stores.queue.recover(() => true, t0 + 501), { suspects: 1, blamed: 0 });
    const [taken] = await stores.queue.lease("other:2:y", 1, 60_000, { suspects: "only" });
    assert.equal(taken?.seq, stale!.seq);

    const lost: number[] = [];
    const keeper = keeperWith({ onLost: (seq) => lost.push(seq) });
    keeper.track(stale!.seq, job.id);
    keeper.track(kept!.seq, job.id);

    await keeper.tick();
    assert.deepEqual(lost, [stale!.seq]);
    await keeper.tick();
    assert.deepEqual(lost, [stale!.seq], "a tick that renews nothing reports nothing");
    clock += LEASE_MS / 3;
    await keeper.tick();
    assert.deepEqual(lost, [stale!.seq, stale!.seq], "still held by this keeper, still missing: reported again");

    keeper.untrack(stale!.seq);
    clock += LEASE_MS / 3;
    await keeper.tick();
    assert.deepEqual(lost, [stale!.seq, stale!.seq]);
    assert.deepEqual(keeper.held, [kept!.seq]);
    assert.deepEqual(
      await stores.queue.renew("other:2:y", [stale!.seq], 60_000),
      [],
      "the other process still holds it",
    );
  });

  it("reports a job cancelled through the ledger via onCancelled, and only that job", async () => {
    const cancelledJob = await leasedJob(["a", "b"]);
    const runningJob = await leasedJob(["c"]);
    const cancelled: string[] = [];
    const keeper = keeperWith({ onCancelled: (jobId) => cancelled.push(jobId) });
    for (const l of [...cancelledJob.leases, ...runningJob.leases]) keeper.track(l.seq, l.jobId);

    await keeper.tick();
    assert.deepEqual(cancelled, []);

    await stores.ledger.cancelJob(cancelledJob.jobId);
    await keeper.tick();
    assert.deepEqual(
      cancelled,
      [cancelledJob.jobId],
      "one report per job, however many of its documents are in flight",
    );
  });

  it("a cancel that also retired the leases is reported as a cancel before the leases are reported lost", async () => {
    const { jobId, leases } = await leasedJob(["a", "b"]);
    const order: string[] = [];
    const keeper = keeperWith({
      onCancelled: (id) => order.push(`cancelled ${id}`),
      onLost: (seq) => order.push(`lost ${seq}`),
    });
    for (const l of leases) keeper.track(l.seq, l.jobId);
    // What Sluice.cancelJob does: the job first, then its records.
    await stores.ledger.cancelJob(jobId);
    await stores.queue.cancelJob(jobId);
    await keeper.tick();
    assert.deepEqual(order, [`cancelled ${jobId}`, ...leases.map((l) => `lost ${l.seq}`)]);
  });

  it("writes a job's current stage to the ledger only when it changes, and only for jobs it tracks", async (t) => {
    const setStage = t.mock.method(stores.ledger, "setCurrentStage");
    const { jobId, leases } = await leasedJob(["a", "b"]);
    const other = await stores.ledger.createJob({ collection: "c", pipeline: "auto", paths: [] });
    const keeper = keeperWith();
    for (const l of leases) keeper.track(l.seq, jobId);
    assert.equal((await stores.ledger.getJob(jobId)).state, "PROCESSING");

    await keeper.tick();
    assert.equal(setStage.mock.callCount(), 0, "no stage reached yet");
    assert.equal((await stores.ledger.getJob(jobId)).currentStage, null);

    keeper.stage(jobId, "parse");
    keeper.stage(other.id, "parse");
    await keeper.tick();
    assert.deepEqual(
      setStage.mock.calls.map((c) => c.arguments),
      [[jobId, "parse"]],
    );
    assert.equal((await stores.ledger.getJob(jobId)).currentStage, "parse");

    await keeper.tick();
    keeper.stage(jobId, "parse");
    clock += LEASE_MS;
    await keeper.tick();
    assert.equal(setStage.mock.callCount(), 1, "unchanged: not written again");

    keeper.stage(jobId, "embed");
    await keeper.tick();
    assert.deepEqual(setStage.mock.calls.at(-1)?.arguments, [jobId, "embed"]);
    assert.equal(setStage.mock.callCount(), 2);
    assert.equal((await stores.ledger.getJob(jobId)).currentStage, "embed");
  });

  it("runs onTick at the end of every tick, with or without leases", async () => {
    let ticks = 0;
    const keeper = keeperWith({ onTick: async () => void ticks++ });
    await keeper.tick();
    assert.equal(ticks, 1);
    const { jobId, leases } = await leasedJob(["a"]);
    keeper.track(leases[0]!.seq, jobId);
    await keeper.tick();
    await keeper.tick();
    assert.equal(ticks, 3);
  });

  it("stops renewing a seq once it is untracked", async (t) => {
    const t0 = Date.now();
    const { jobId, leases } = await leasedJob(["a", "b"], { leaseMs: 1_000, now: t0 - 500 });
    const [a, b] = leases.map((l) => l.seq) as [number, number];
    const renew = t.mock.method(stores.queue, "renew");
    const keeper = keeperWith({ leaseMs: 1_000 });
    keeper.track(a, jobId);
    keeper.track(b, jobId);
    keeper.untrack(b);
    assert.deepEqual(keeper.held, [a]);

    await keeper.tick();

    assert.deepEqual(renew.mock.calls[0]?.arguments, [OWNER, [a], 1_000]);
    assert.deepEqual(
      await stores.queue.recover(() => true, t0 + 501),
      { suspects: 1, blamed: 0 },
      "only the untracked lease expired",
    );
    assert.deepEqual(await stores.queue.renew(OWNER, [a, b], 1_000), [b]);
  });

  it("start() runs ticks on the timer one at a time, and stop() waits for the tick in flight", async () => {
    const log: string[] = [];
    let active = 0;
    let most = 0;
    let finished = 0;
    const keeper = keeperWith({
      heartbeatMs: 5,
      onTick: async () => {
        active++;
        most = Math.max(most, active);
        log.push("start");
        // Slower than the heartbeat: later timer callbacks fire while this tick is still running.
        await sleep(15);
        log.push("end");
        active--;
        finished++;
      },
    });
    keeper.start();
    keeper.start(); // a second start is a no-op, not a second timer
    await until(() => finished, 3);
    await keeper.stop();

    assert.equal(most, 1, "ticks never overlap");
    assert.equal(active, 0, "stop() resolved after the tick in flight ended");
    assert.ok(log.length >= 6);
    assert.deepEqual(
      log,
      log.map((_, i) => (i % 2 === 0 ? "start" : "end")),
    );

    const after = log.length;
    await sleep(30);
    assert.equal(log.length, after, "no tick after stop()");
  });

  it("hands a failing tick (renew throws) to onError, and the next tick runs", async (t) => {
    const t0 = Date.now();
    const { jobId, leases } = await leasedJob(["a"], { leaseMs: 1_000, now: t0 - 500 });
    const renew = t.mock.method(stores.queue, "renew");
    renew.mock.mockImplementationOnce(async () => {
      throw new Error("store unreachable");
    });
    const errors: unknown[] = [];
    let ticks = 0;
    // Each tick reads a clock a full lease later, so every tick is due to renew.
    const keeper = keeperWith({
      leaseMs: 1_000,
      heartbeatMs: 5,
      now: () => (clock += 1_000),
      onError: (err) => errors.push(err),
      onTick: async () => void ticks++,
    });
    keeper.track(leases[0]!.seq, jobId);
    keeper.start();
    await until(() => ticks, 1);
    await keeper.stop();

    assert.equal(errors.length, 1);
    assert.match((errors[0] as Error).message, /store unreachable/);
    assert.ok(renew.mock.callCount() >= 2, "the tick after the failure renewed again");
    assert.deepEqual(
      await stores.queue.recover(() => true, t0 + 501),
      { suspects: 0, blamed: 0 },
      "the lease survived the failed renewal",
    );
  });

  it("tick() rejects when the store fails, so a caller driving it directly sees the error", async (t) => {
    const { jobId, leases } = await leasedJob(["a"]);
    t.mock.method(stores.ledger, "jobStates", async () => {
      throw new Error("ledger unreachable");
    });
    let ticks = 0;
    const keeper = keeperWith({ onTick: async () => void ticks++ });
    keeper.track(leases[0]!.seq, jobId);
    await assert.rejects(keeper.tick(), /ledger unreachable/);
    assert.equal(ticks, 0, "onTick is not reached by a failed tick");
  });

  describe("when the store fails or is slow", () => {
    it("retries a failed renewal on the next tick, not a third of a lease later", async (t) => {
      const { jobId, leases } = await leasedJob(["a"]);
      const renew = t.mock.method(stores.queue, "renew");
      renew.mock.mockImplementationOnce(async () => {
        throw new Error("store unreachable");
      });
      const keeper = keeperWith();
      keeper.track(leases[0]!.seq, jobId);
      await assert.rejects(keeper.tick(), /store unreachable/);
      clock += 250; // the next heartbeat
      await keeper.tick();
      assert.equal(renew.mock.callCount(), 2);
    });

    it("stop() does not run ticks that piled up behind a slow one", async () => {
      let started = 0;
      let finished = 0;
      const keeper = keeperWith({
        heartbeatMs: 5,
        onTick: async () => {
          started++;
          await sleep(25);
          finished++;
        },
      });
      keeper.start();
      await until(() => finished, 2);
      const startedAtStop = started;
      await keeper.stop();
      assert.equal(started, startedAtStop, "ticks started after stop() was called");
    });

    it("writes a stage again after a failed write", async (t) => {
      const { jobId, leases } = await leasedJob(["a"]);
      const setStage = t.mock.method(stores.ledger, "setCurrentStage");
      setStage.mock.mockImplementationOnce(async () => {
        throw new Error("ledger unreachable");
      });
      const keeper = keeperWith();
      keeper.track(leases[0]!.seq, jobId);
      keeper.stage(jobId, "parse");
      await assert.rejects(keeper.tick(), /ledger unreachable/);
      await keeper.tick();
      assert.equal((await stores.ledger.getJob(jobId)).currentStage, "parse");
    });
  });
});
