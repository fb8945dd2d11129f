import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSluiceError } from "../../contracts/errors.ts";
import type { DeviceSnapshot, GpuInfo } from "./device-monitor.ts";
import { keepAliveMs, memoryPressure, placeCall } from "./residency-policy.ts";

function gpu(memoryTotalMiB: number, memoryUsedMiB: number, index = 0): GpuInfo {
  return { index, name: "NVIDIA H200", memoryTotalMiB, memoryUsedMiB, utilizationPercent: 0 };
}

function snapshot(gpus: GpuInfo[], host = { totalBytes: 1000, freeBytes: 750 }): DeviceSnapshot {
  return { gpus, host, sampledAt: 0 };
}

describe("memoryPressure", () => {
  it("is the least-loaded GPU's used share for cuda", () => {
    assert.equal(memoryPressure(snapshot([gpu(1000, 900), gpu(1000, 100, 1)]), "cuda"), 0.1);
  });

  it("is 1 - free/total of host memory for cpu", () => {
    assert.equal(memoryPressure(snapshot([]), "cpu"), 0.25);
  });

  it("is undefined without figures: no GPU, zero totals", () => {
    assert.equal(memoryPressure(snapshot([]), "cuda"), undefined);
    assert.equal(memoryPressure(snapshot([gpu(0, 0)]), "cuda"), undefined);
    assert.equal(memoryPressure(snapshot([], { totalBytes: 0, freeBytes: 0 }), "cpu"), undefined);
  });

  it("stays within 0-1 when a driver over-reports", () => {
    assert.equal(memoryPressure(snapshot([gpu(100, 120)]), "cuda"), 1);
    assert.equal(memoryPressure(snapshot([], { totalBytes: 100, freeBytes: 150 }), "cpu"), 0);
  });
});

describe("keepAliveMs", () => {
  const base = { baseMs: 1_000_000, highWatermark: 0.9 };

  it("is the full keep-alive up to pressure 0.5, or when pressure is unknown", () => {
    for (const pressure of [0, 0.3, 0.5, undefined])
      assert.equal(keepAliveMs({ ...base, pressure }), 1_000_000, String(pressure));
  });

  it("shrinks linearly from 0.5 to 0 at the high watermark, and is 0 above it", () => {
    assert.equal(keepAliveMs({ ...base, pressure: 0.6 }), 750_000);
    assert.equal(keepAliveMs({ ...base, pressure: 0.7 }), 500_000);
    assert.equal(keepAliveMs({ ...base, pressure: 0.8 }), 250_000);
    assert.equal(keepAliveMs({ ...base, pressure: 0.9 }), 0);
    assert.equal(keepAliveMs({ ...base, pressure: 0.99 }), 0);
  });

  it("never gives more than the call requested, but the request cannot lengthen it", () => {
    assert.equal(keepAliveMs({ ...base, requestedMs: 60_000, pressure: 0.1 }), 60_000);
    assert.equal(keepAliveMs({ ...base, requestedMs: 0, pressure: 0.1 }), 0);
    assert.equal(keepAliveMs({ ...base, requestedMs: 600_000, pressure: 0.8 }), 250_000);
    assert.equal(keepAliveMs({ ...base, requestedMs: 5_000_000, pressure: 0.1 }), 1_000_000);
  });

  it("with a watermark at or below 0.5 keeps all below it and nothing from it on", () => {
    assert.equal(keepAliveMs({ baseMs: 100, highWatermark: 0.4, pressure: 0.39 }), 100);
    assert.equal(keepAliveMs({ baseMs: 100, highWatermark: 0.4, pressure: 0.4 }), 0);
    assert.equal(keepAliveMs({ baseMs: 100, highWatermark: 0, pressure: 0 }), 0);
  });
});

describe("placeCall", () => {
  const free = snapshot([gpu(1000, 100)]);
  const full = snapshot([gpu(1000, 950)]);

  it("runs cpu calls on cpu whatever the GPUs look like", () => {
    assert.deepEqual(placeCall("cpu", { snapshot: free, highWatermark: 0.9, modelSupportsGpu: true }), {
      device: "cpu",
    });
  });

  it("runs gpu calls on cuda when a GPU has room", () => {
    assert.deepEqual(placeCall("gpu-preferred", { snapshot: free, highWatermark: 0.9, modelSupportsGpu: true }), {
      device: "cuda",
    });
    assert.deepEqual(placeCall("gpu-required", { snapshot: free, highWatermark: 0.9, modelSupportsGpu: true }), {
      device: "cuda",
    });
    // At the watermark exactly a GPU still counts; only above it does it not.
    assert.equal(
      placeCall("gpu-required", { snapshot: snapshot([gpu(10, 9)]), highWatermark: 0.9, modelSupportsGpu: true })
        .device,
      "cuda",
    );
  });

  const refusals = [
    {
      why: "no GPU",
      context: { snapshot: snapshot([]), highWatermark: 0.9, modelSupportsGpu: true },
      code: "no-gpu",
      message: /no GPU is available on this host/,
    },
    {
      why: "GPU memory pressure",
      context: { snapshot: full, highWatermark: 0.9, modelSupportsGpu: true },
      code: "gpu-memory-pressure",
      message: /GPU memory pressure 95\.0% is above the high watermark 90\.0%/,
    },
    {
      why: "no GPU build",
      context: { snapshot: free, highWatermark: 0.9, modelSupportsGpu: false },
      code: "no-gpu-build",
      message: /the model has no GPU build/,
    },
  ] as const;

  for (const { why, context, code, message } of refusals) {
    it(`sends gpu-preferred to cpu with the reason: ${why}`, () => {
      const placement = placeCall("gpu-preferred", context);
      assert.equal(placement.device, "cpu");
      assert.equal(placement.fallbackCode, code);
      assert.match(placement.fallbackReason ?? "", message);
    });

    it(`throws DEVICE_UNAVAILABLE for gpu-required with the reason: ${why}`, () => {
      assert.throws(
        () => placeCall("gpu-required", { ...context, model: "bge-m3" }),
        (err: unknown) =>
          isSluiceError(err) &&
          err.code === "DEVICE_UNAVAILABLE" &&
          !err.retryable &&
          message.test(err.message) &&
          /model "bge-m3"/.test(err.message) &&
          err.details?.["reason"] === code,
      );
    });
  }

  it("uses the least-loaded GPU, so one full GPU of two does not refuse", () => {
    assert.equal(
      placeCall("gpu-required", {
        snapshot: snapshot([gpu(1000, 990), gpu(1000, 10, 1)]),
        highWatermark: 0.9,
        modelSupportsGpu: true,
      }).device,
      "cuda",
    );
  });
});
