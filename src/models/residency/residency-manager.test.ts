import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSluiceError, SluiceError } from "../../contracts/errors.ts";
import type { ComputeDevice } from "./device-monitor.ts";
import { ManualDeviceMonitor, type ManualGpu } from "./manual-device-monitor.ts";
import {
  ResidencyManager,
  type ResidencyEvent,
  type ResidencyManagerOptions,
  type ResidentModel,
} from "./residency-manager.ts";

const KEEP_ALIVE = 60_000;

/** A model that records its loads and unloads; a load can be held open or made to fail. */
class FakeModel implements ResidentModel {
  readonly loads: ComputeDevice[] = [];
  unloads = 0;
  loadedOn: ComputeDevice | undefined;
  failNextLoad: Error | undefined;
  failNextUnload: Error | undefined;
  private held: { promise: Promise<void>; resolve: () => void } | undefined;

  constructor(
    readonly name = "bge-m3",
    readonly supportsGpu = true,
  ) {}

  /** Makes the next loads wait until `finishLoad()`. */
  holdLoads(): void {
    let resolve!: () => void;
    const promise = new Promise<void>((r) => (resolve = r));
    this.held = { promise, resolve };
  }

  finishLoad(): void {
    this.held?.resolve();
    this.held = undefined;
  }

  async load(device: ComputeDevice): Promise<void> {
    this.loads.push(device);
    if (this.held) await this.held.promise;
    const failure = this.failNextLoad;
    this.failNextLoad = undefined;
    if (failure) throw failure;
    this.loadedOn = device;
  }

  async unload(): Promise<void> {
    this.unloads++;
    this.loadedOn = undefined;
    const failure = this.failNextUnload;
    this.failNextUnload = undefined;
    if (failure) throw failure;
  }
}

function setup(options: { gpus?: ManualGpu[]; models?: FakeModel[] } & Partial<ResidencyManagerOptions> = {}) {
  const clock = { t: 1_000_000 };
  const monitor = new ManualDeviceMonitor({ gpus: options.gpus ?? [], now: () => clock.t });
  const events: ResidencyEvent[] = [];
  const warnings: string[] = [];
  const manager = new ResidencyManager({
    monitor,
    keepAliveMs: KEEP_ALIVE,
    highWatermark: 0.9,
    pollMs: 1000,
    now: () => clock.t,
    onChange: (e) => events.push(e),
    onWarning: (m) => warnings.push(m),
    ...options,
  });
  const models = options.models ?? [new FakeModel()];
  for (const m of models) manager.register(m);
  return { manager, monitor, clock, events, warnings, model: models[0] as FakeModel, models };
}

/** Lets every pending promise callback run (the fakes settle in microtasks and immediates). */
async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

function state(manager: ResidencyManager, name = "bge-m3") {
  const found = manager.snapshot().find((m) => m.name === name);
  assert.ok(found);
  return found;
}

describe("ResidencyManager", () => {
  it("loads on the first call, keeps an idle model for the keep-alive, then unloads it", async () => {
    const { manager, model, clock, events } = setup();
    const lease = await manager.acquire("bge-m3", { device: "gpu-preferred" });
    assert.equal(lease.device, "cpu");
    assert.match(lease.fallbackReason ?? "", /no GPU/);
    lease.release();
    clock.t += KEEP_ALIVE - 1;
    await manager.tick();
    assert.equal(state(manager).state, "loaded");
    assert.equal(state(manager).idleMs, KEEP_ALIVE - 1);
    clock.t += 1;
    await manager.tick();
    assert.equal(state(manager).state, "unloaded");
    assert.deepEqual(model.loads, ["cpu"]);
    assert.equal(model.unloads, 1);
    assert.deepEqual(events, [
      { model: "bge-m3", state: "loading", device: "cpu", reason: "no GPU is available on this host" },
      { model: "bge-m3", state: "loaded", device: "cpu" },
      {
        model: "bge-m3",
        state: "unloaded",
        device: "cpu",
        reason: `idle for ${KEEP_ALIVE} ms (keep-alive ${KEEP_ALIVE} ms)`,
      },
    ]);
  });

  it("reloads a model on the next call after it was unloaded", async () => {
    const { manager, model, clock } = setup();
    (await manager.acquire("bge-m3", { device: "cpu" })).release();
    clock.t += KEEP_ALIVE;
    await manager.tick();
    const lease = await manager.acquire("bge-m3", { device: "cpu" });
    assert.deepEqual(model.loads, ["cpu", "cpu"]);
    assert.equal(state(manager).state, "loaded");
    lease.release();
  });

  it("never unloads a model in use, even under memory pressure", async () => {
    const { manager, model, monitor, clock } = setup({ gpus: [{ memoryTotalMiB: 1000 }] });
    const lease = await manager.acquire("bge-m3", { device: "gpu-required" });
    assert.equal(lease.device, "cuda");
    monitor.setGpuMemoryUsed(0, 990);
    clock.t += 100 * KEEP_ALIVE;
    await manager.tick();
    assert.equal(state(manager).state, "loaded");
    assert.equal(state(manager).inUse, 1);
    assert.equal(model.unloads, 0);
    lease.release();
    lease.release(); // a second release changes nothing
    assert.equal(state(manager).inUse, 0);
    await manager.tick();
    assert.equal(state(manager).state, "unloaded");
  });

  it("shortens the keep-alive as memory fills, and unloads idle models at once above the watermark", async () => {
    const { manager, monitor, clock, events } = setup({ gpus: [{ memoryTotalMiB: 1000 }] });
    (await manager.acquire("bge-m3", { device: "gpu-preferred" })).release();
    monitor.setGpuMemoryUsed(0, 700);
    await manager.tick();
    assert.equal(state(manager).keepAliveMs, KEEP_ALIVE / 2);
    clock.t += KEEP_ALIVE / 2 - 1;
    await manager.tick();
    assert.equal(state(manager).state, "loaded");
    clock.t += 1;
    await manager.tick();
    assert.equal(state(manager).state, "unloaded");

    (await manager.acquire("bge-m3", { device: "gpu-preferred" })).release();
    monitor.setGpuMemoryUsed(0, 950);
    await manager.tick(); // no time has passed
    assert.equal(state(manager).state, "unloaded");
    assert.match(events.at(-1)?.reason ?? "", /memory pressure 0\.950 reached the high watermark 0\.9/);
  });

  it("throws DEVICE_UNAVAILABLE for gpu-required under pressure, without loading", async () => {
    const { manager, model, monitor, events } = setup({ gpus: [{ memoryTotalMiB: 1000, memoryUsedMiB: 950 }] });
    await assert.rejects(manager.acquire("bge-m3", { device: "gpu-required" }), (err: unknown) => {
      return (
        isSluiceError(err) &&
        err.code === "DEVICE_UNAVAILABLE" &&
        /GPU memory pressure 95\.0% is above the high watermark 90\.0%/.test(err.message)
      );
    });
    monitor.setGpus([]);
    await manager.tick();
    await assert.rejects(manager.acquire("bge-m3", { device: "gpu-required" }), /no GPU is available on this host/);
    assert.deepEqual(model.loads, []);
    assert.deepEqual(events, []);
    assert.deepEqual(
      { state: state(manager).state, waiting: state(manager).waiting },
      { state: "unloaded", waiting: 0 },
    );
  });

  it("sends gpu-preferred to cpu when the GPU is full or the model has no GPU build", async () => {
    const cpuOnly = new FakeModel("tesseract", false);
    const { manager, models, events } = setup({
      gpus: [{ memoryTotalMiB: 1000, memoryUsedMiB: 950 }],
      models: [new FakeModel(), cpuOnly],
    });
    const full = await manager.acquire("bge-m3", { device: "gpu-preferred" });
    assert.equal(full.device, "cpu");
    assert.match(full.fallbackReason ?? "", /GPU memory pressure 95\.0%/);
    const noBuild = await manager.acquire("tesseract", {});
    assert.deepEqual(
      { device: noBuild.device, reason: noBuild.fallbackReason },
      { device: "cpu", reason: "the model has no GPU build" },
    );
    assert.deepEqual(
      models.map((m) => m.loads),
      [["cpu"], ["cpu"]],
    );
    assert.match(events[0]?.reason ?? "", /GPU memory pressure/);
  });

  it("lets the call's keepAliveMs cap the policy, until a later call says otherwise", async () => {
    const { manager, clock } = setup();
    (await manager.acquire("bge-m3", { device: "cpu", keepAliveMs: 1000 })).release();
    assert.equal(state(manager).keepAliveMs, 1000);
    clock.t += 1000;
    await manager.tick();
    assert.equal(state(manager).state, "unloaded");

    (await manager.acquire("bge-m3", { device: "cpu", keepAliveMs: 10 * KEEP_ALIVE })).release();
    assert.equal(state(manager).keepAliveMs, KEEP_ALIVE, "a call cannot lengthen the policy");
    (await manager.acquire("bge-m3", { device: "cpu", keepAliveMs: 0 })).release();
    await manager.tick();
    assert.equal(state(manager).state, "unloaded", "keepAliveMs 0 unloads at the next tick");
  });

  it("loads once for calls that arrive together", async () => {
    const { manager, model } = setup({ gpus: [{ memoryTotalMiB: 1000 }] });
    model.holdLoads();
    const pending = [
      manager.acquire("bge-m3", {}),
      manager.acquire("bge-m3", { device: "gpu-preferred" }),
      manager.acquire("bge-m3", { device: "gpu-required" }),
    ];
    await settle();
    assert.deepEqual(
      { state: state(manager).state, waiting: state(manager).waiting },
      { state: "loading", waiting: 3 },
    );
    model.finishLoad();
    const leases = await Promise.all(pending);
    assert.deepEqual(
      leases.map((l) => l.device),
      ["cuda", "cuda", "cuda"],
    );
    assert.deepEqual(model.loads, ["cuda"]);
    assert.equal(state(manager).inUse, 3);
    for (const l of leases) l.release();
  });

  it("rejects every call waiting on a failed load, leaves the model unloaded, and loads afresh next time", async () => {
    const { manager, model, events } = setup();
    model.holdLoads();
    model.failNextLoad = new Error("weights missing");
    const pending = [manager.acquire("bge-m3", { device: "cpu" }), manager.acquire("bge-m3", { device: "cpu" })];
    await settle();
    model.finishLoad();
    const outcomes = await Promise.allSettled(pending);
    for (const outcome of outcomes) {
      assert.equal(outcome.status, "rejected");
      const err: unknown = outcome.reason;
      assert.ok(
        isSluiceError(err) &&
          err.code === "MODEL_UNAVAILABLE" &&
          /loading model "bge-m3" on cpu failed: weights missing/.test(err.message),
      );
    }
    assert.deepEqual(
      { state: state(manager).state, waiting: state(manager).waiting, inUse: state(manager).inUse },
      { state: "unloaded", waiting: 0, inUse: 0 },
    );
    assert.deepEqual(events.at(-1), {
      model: "bge-m3",
      state: "unloaded",
      device: "cpu",
      reason: "load failed: weights missing",
    });
    assert.equal(model.unloads, 0, "a failed load is not unloaded");
    (await manager.acquire("bge-m3", { device: "cpu" })).release();
    assert.deepEqual(model.loads, ["cpu", "cpu"]);
  });

  it("passes a SluiceError from a load through as it is", async () => {
    const { manager, model } = setup({ gpus: [{ memoryTotalMiB: 1000 }] });
    model.failNextLoad = new SluiceError("DEVICE_UNAVAILABLE", "CUDA out of memory");
    await assert.rejects(
      manager.acquire("bge-m3", { device: "gpu-required" }),
      (err: unknown) => isSluiceError(err) && err.code === "DEVICE_UNAVAILABLE" && err.message === "CUDA out of memory",
    );
  });

  it("keeps serving gpu-preferred calls on a GPU model when the GPU fills up (no thrash)", async () => {
    const { manager, model, monitor } = setup({ gpus: [{ memoryTotalMiB: 1000 }] });
    const first = await manager.acquire("bge-m3", { device: "gpu-preferred" });
    monitor.setGpuMemoryUsed(0, 990);
    await manager.tick();
    const second = await manager.acquire("bge-m3", { device: "gpu-preferred" });
    const third = await manager.acquire("bge-m3", { device: "gpu-required" });
    assert.deepEqual([second.device, third.device], ["cuda", "cuda"]);
    assert.deepEqual(model.loads, ["cuda"]);
    for (const l of [first, second, third]) l.release();
  });

  it("moves a model to cpu for a cpu call once the GPU calls are done, holding new calls meanwhile", async () => {
    const { manager, model, events } = setup({ gpus: [{ memoryTotalMiB: 1000 }] });
    const gpuLease = await manager.acquire("bge-m3", { device: "gpu-required" });
    const got = { cpuLease: false };
    const cpuCall = manager.acquire("bge-m3", { device: "cpu" }).finally(() => (got.cpuLease = true));
    const laterCall = manager.acquire("bge-m3", { device: "gpu-preferred" });
    await settle();
    assert.equal(got.cpuLease, false, "the cpu call waits for the GPU lease");
    assert.deepEqual(model.loads, ["cuda"]);
    gpuLease.release();
    assert.equal((await cpuCall).device, "cpu");
    assert.equal((await laterCall).device, "cpu", "a call that arrived during the move joins the model where it went");
    assert.deepEqual(model.loads, ["cuda", "cpu"]);
    assert.deepEqual(
      events.map((e) => `${e.state}:${e.device}`),
      ["loading:cuda", "loaded:cuda", "unloaded:cuda", "loading:cpu", "loaded:cpu"],
    );
    assert.match(events[2]?.reason ?? "", /moving to cpu for a cpu call/);
  });

  it("moves an idle cpu model to a GPU for a gpu-required call", async () => {
    const { manager, model } = setup({ gpus: [{ memoryTotalMiB: 1000 }] });
    (await manager.acquire("bge-m3", { device: "cpu" })).release();
    const lease = await manager.acquire("bge-m3", { device: "gpu-required" });
    assert.equal(lease.device, "cuda");
    assert.deepEqual(model.loads, ["cpu", "cuda"]);
    assert.equal(model.unloads, 1);
    lease.release();
  });

  it("describes every model in snapshot()", async () => {
    const { manager, clock } = setup({ models: [new FakeModel("a"), new FakeModel("b")] });
    const lease = await manager.acquire("a", { device: "cpu", keepAliveMs: 5000 });
    clock.t += 10;
    assert.deepEqual(manager.snapshot(), [
      {
        name: "a",
        state: "loaded",
        device: "cpu",
        inUse: 1,
        waiting: 0,
        lastUsedAt: 1_000_000,
        idleMs: 0,
        keepAliveMs: 5000,
      },
      {
        name: "b",
        state: "unloaded",
        device: undefined,
        inUse: 0,
        waiting: 0,
        lastUsedAt: undefined,
        idleMs: 0,
        keepAliveMs: KEEP_ALIVE,
      },
    ]);
    lease.release();
    clock.t += 20;
    assert.deepEqual(
      { idle: state(manager, "a").idleMs, last: state(manager, "a").lastUsedAt },
      { idle: 20, last: 1_000_010 },
    );
    assert.deepEqual(manager.deviceSnapshot()?.gpus, []);
  });

  it("rejects unknown names, duplicate registrations and bad options", async () => {
    const { manager, monitor } = setup();
    await assert.rejects(
      manager.acquire("nope"),
      (err: unknown) => isSluiceError(err) && err.code === "NOT_FOUND" && /no model named "nope"/.test(err.message),
    );
    assert.throws(
      () => manager.register(new FakeModel()),
      (err: unknown) => isSluiceError(err) && err.code === "CONFIG_INVALID",
    );
    for (const bad of [{ keepAliveMs: -1 }, { highWatermark: 1.5 }, { pollMs: 0 }]) {
      assert.throws(
        () => new ResidencyManager({ monitor, keepAliveMs: 1, highWatermark: 0.9, pollMs: 1, ...bad }),
        (err: unknown) => isSluiceError(err) && err.code === "CONFIG_INVALID",
      );
    }
  });

  it("counts a model whose unload failed as unloaded, with a warning", async () => {
    const { manager, model, clock, warnings } = setup();
    (await manager.acquire("bge-m3", { device: "cpu" })).release();
    model.failNextUnload = new Error("session busy");
    clock.t += KEEP_ALIVE;
    await manager.tick();
    assert.equal(state(manager).state, "unloaded");
    assert.match(warnings[0] ?? "", /unloading model "bge-m3" failed/);
  });

  it("keeps working when an onChange listener throws", async () => {
    const { manager, warnings } = setup({
      onChange: () => {
        throw new Error("listener down");
      },
    });
    const lease = await manager.acquire("bge-m3", { device: "cpu" });
    assert.equal(lease.device, "cpu");
    assert.match(warnings[0] ?? "", /onChange listener threw/);
    lease.release();
  });

  it("rejects a tick when the monitor fails, leaving models as they were", async () => {
    const { manager, monitor, clock } = setup();
    (await manager.acquire("bge-m3", { device: "cpu" })).release();
    monitor.failWith(new Error("monitor down"));
    clock.t += KEEP_ALIVE;
    await assert.rejects(manager.tick(), /monitor down/);
    assert.equal(state(manager).state, "loaded");
  });

  it("start() ticks at once and every pollMs, and reports failed ticks as warnings", async () => {
    const { manager, monitor } = setup({ pollMs: 1 });
    monitor.failWith(new Error("monitor down"));
    const seen: string[] = [];
    let third!: () => void;
    const threeWarnings = new Promise<void>((resolve) => (third = resolve));
    const watched = new ResidencyManager({
      monitor,
      keepAliveMs: 1,
      highWatermark: 0.9,
      pollMs: 1,
      onWarning: (m) => seen.push(m) === 3 && third(),
    });
    // The manager's timer is unref'd on purpose; this one keeps the test process up while it waits.
    const keepUp = setInterval(() => {}, 1000);
    watched.start();
    watched.start(); // a second start does not start a second loop
    assert.equal(monitor.samples, 1, "the first tick samples at once");
    await threeWarnings.finally(() => clearInterval(keepUp));
    assert.match(seen[0] ?? "", /residency tick failed/);
    await watched.close();
    const after = monitor.samples;
    await settle();
    assert.equal(monitor.samples, after, "close() stops the ticks");
    await manager.close();
  });

  it("close() waits for calls in flight, unloads everything and rejects later calls", async () => {
    const { manager, model, events } = setup({ models: [new FakeModel(), new FakeModel("idle-one")] });
    const lease = await manager.acquire("bge-m3", { device: "cpu" });
    (await manager.acquire("idle-one", { device: "cpu" })).release();
    let closed = false;
    const closing = manager.close().then(() => (closed = true));
    await settle();
    assert.equal(closed, false, "close waits for the lease");
    assert.equal(model.unloads, 0);
    await assert.rejects(
      manager.acquire("bge-m3", { device: "cpu" }),
      (err: unknown) => isSluiceError(err) && err.code === "MODEL_UNAVAILABLE" && /closed/.test(err.message),
    );
    lease.release();
    await closing;
    assert.equal(model.unloads, 1);
    assert.deepEqual(
      manager.snapshot().map((m) => m.state),
      ["unloaded", "unloaded"],
    );
    assert.deepEqual(
      events.filter((e) => e.state === "unloaded").map((e) => e.reason),
      ["closing", "closing"],
    );
    assert.equal(manager.close(), manager.close(), "close() is idempotent");
  });

  it("close() gives up waiting after closeTimeoutMs and unloads models still in use, with a warning", async () => {
    const { manager, model, warnings } = setup({ closeTimeoutMs: 1 });
    await manager.acquire("bge-m3", { device: "cpu" }); // never released
    await manager.close();
    assert.equal(model.unloads, 1);
    assert.match(warnings.join("\n"), /calls still in use: bge-m3 \(1\); unloading them anyway/);
  });

  it("close() lets a load in flight finish, rejects its waiters, then unloads it", async () => {
    const { manager, model } = setup();
    model.holdLoads();
    const pending = manager.acquire("bge-m3", { device: "cpu" });
    await settle();
    const closing = manager.close();
    model.finishLoad();
    await assert.rejects(pending, (err: unknown) => isSluiceError(err) && err.code === "MODEL_UNAVAILABLE");
    await closing;
    assert.deepEqual(
      { loads: model.loads, unloads: model.unloads, loadedOn: model.loadedOn },
      { loads: ["cpu"], unloads: 1, loadedOn: undefined },
    );
  });
});
