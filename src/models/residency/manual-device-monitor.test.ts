import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSluiceError } from "../../contracts/errors.ts";
import { ManualDeviceMonitor } from "./manual-device-monitor.ts";

describe("ManualDeviceMonitor", () => {
  it("starts as a CPU-only host with 16 GiB free", async () => {
    const snapshot = await new ManualDeviceMonitor({ now: () => 7 }).sample();
    assert.deepEqual(snapshot, { gpus: [], host: { totalBytes: 16 * 2 ** 30, freeBytes: 16 * 2 ** 30 }, sampledAt: 7 });
  });

  it("fills in the GPUs it is given, and reports what is set afterwards", async () => {
    const monitor = new ManualDeviceMonitor({
      gpus: [
        { memoryTotalMiB: 80_000 },
        { name: "H200", memoryTotalMiB: 143_771, memoryUsedMiB: 10, utilizationPercent: null },
      ],
    });
    assert.deepEqual((await monitor.sample()).gpus, [
      { index: 0, name: "Manual GPU 0", memoryTotalMiB: 80_000, memoryUsedMiB: 0, utilizationPercent: 0 },
      { index: 1, name: "H200", memoryTotalMiB: 143_771, memoryUsedMiB: 10, utilizationPercent: null },
    ]);
    monitor.setGpuMemoryUsed(0, 76_000).setHostMemory(1000, 100);
    const snapshot = await monitor.sample();
    assert.equal(snapshot.gpus[0]?.memoryUsedMiB, 76_000);
    assert.deepEqual(snapshot.host, { totalBytes: 1000, freeBytes: 100 });
    assert.deepEqual((await monitor.setGpus([]).sample()).gpus, []);
    assert.equal(monitor.samples, 3);
  });

  it("never changes a snapshot it already handed out", async () => {
    const monitor = new ManualDeviceMonitor({ gpus: [{ memoryTotalMiB: 100 }] });
    const first = await monitor.sample();
    monitor.setGpuMemoryUsed(0, 99).setHostMemory(1, 0);
    assert.equal(first.gpus[0]?.memoryUsedMiB, 0);
    assert.equal(first.host.totalBytes, 16 * 2 ** 30);
  });

  it("rejects setting a GPU it does not have", () => {
    assert.throws(
      () => new ManualDeviceMonitor().setGpuMemoryUsed(0, 1),
      (err: unknown) => isSluiceError(err) && err.code === "VALIDATION_FAILED",
    );
  });

  it("fails samples on demand until cleared", async () => {
    const monitor = new ManualDeviceMonitor().failWith(new Error("monitor down"));
    await assert.rejects(monitor.sample(), /monitor down/);
    assert.deepEqual((await monitor.failWith(undefined).sample()).gpus, []);
  });
});
