import assert from "node:assert/strict";
import path from "node:path";
import os from "node:os";
import { describe, it } from "node:test";
import type { DeviceMonitor, DeviceSnapshot } from "./device-monitor.ts";
import { ManualDeviceMonitor } from "./manual-device-monitor.ts";
import { NvidiaSmiMonitor } from "./nvidia-smi-monitor.ts";

/** What every DeviceMonitor promises: a well-formed snapshot, and no rejection for a host without GPUs. */
function assertWellFormed(snapshot: DeviceSnapshot): void {
  assert.ok(Array.isArray(snapshot.gpus));
  for (const gpu of snapshot.gpus) {
    assert.ok(Number.isInteger(gpu.index) && gpu.index >= 0);
    assert.equal(typeof gpu.name, "string");
    assert.ok(gpu.memoryTotalMiB > 0 && gpu.memoryUsedMiB >= 0);
    assert.ok(gpu.utilizationPercent === null || gpu.utilizationPercent >= 0);
  }
  assert.ok(snapshot.host.totalBytes > 0 && snapshot.host.freeBytes >= 0);
  assert.ok(Number.isFinite(snapshot.sampledAt));
}

const monitors: Array<[string, () => DeviceMonitor]> = [
  ["ManualDeviceMonitor", () => new ManualDeviceMonitor({ gpus: [{ memoryTotalMiB: 1000, memoryUsedMiB: 10 }] })],
  [
    "NvidiaSmiMonitor without nvidia-smi",
    () => new NvidiaSmiMonitor({ command: path.join(os.tmpdir(), "sluice-no-such-nvidia-smi") }),
  ],
  // Whatever this host has: no GPUs on a CPU-only machine, real ones where a driver is installed.
  ["NvidiaSmiMonitor on this host", () => new NvidiaSmiMonitor()],
];

describe("DeviceMonitor implementations", () => {
  for (const [name, make] of monitors) {
    it(`${name} answers a well-formed snapshot`, async () => {
      assertWellFormed(await make().sample());
    });
  }
});
