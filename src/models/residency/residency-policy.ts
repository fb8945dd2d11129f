/**
 * The residency policy as pure functions of a device snapshot: how full a device is, how long an
 * idle model may stay loaded, and where a call runs. `ResidencyManager` applies them; keeping
 * them pure lets the server, its metrics and the tests ask the same questions without side effects.
 */
import { SluiceError } from "../../contracts/errors.ts";
import type { DevicePreference } from "../ports.ts";
import type { ComputeDevice, DeviceSnapshot } from "./device-monitor.ts";

/** Up to this pressure an idle model keeps its whole keep-alive. */
const FULL_KEEP_ALIVE_BELOW = 0.5;

/**
 * Memory pressure of a device, 0 (empty) to 1 (full). For `cuda` it is the least-loaded GPU's
 * used/total, since that is where a new model would fit; for `cpu` it is 1 - free/total of host
 * memory. `undefined` when the snapshot has no figures for the device (no GPU, zero totals).
 *
 * @example
 * memoryPressure({ gpus: [gpu(80_000, 72_000), gpu(80_000, 8_000)], host, sampledAt: 0 }, "cuda"); // 0.1
 */
export function memoryPressure(snapshot: DeviceSnapshot, device: ComputeDevice): number | undefined {
  if (device === "cpu") {
    const { totalBytes, freeBytes } = snapshot.host;
    return totalBytes > 0 ? clamp01(1 - freeBytes / totalBytes) : undefined;
  }
  let least: number | undefined;
  for (const gpu of snapshot.gpus) {
    if (!(gpu.memoryTotalMiB > 0)) continue;
    const pressure = clamp01(gpu.memoryUsedMiB / gpu.memoryTotalMiB);
    if (least === undefined || pressure < least) least = pressure;
  }
  return least;
}

/**
 * Inputs of `keepAliveMs`.
 *
 * @example
 * const input: KeepAliveInput = { requestedMs: 60_000, baseMs: 900_000, pressure: 0.7, highWatermark: 0.9 };
 */
export interface KeepAliveInput {
  /** What the last call asked for (`ModelParams.keepAliveMs`); absent means no cap. */
  requestedMs?: number | undefined;
  /** The server's keep-alive when memory is plentiful (`modelServer.residency.keepAliveMs`). */
  baseMs: number;
  /** The device's memory pressure; `undefined` (not known) counts as none, so a flaky monitor never evicts. */
  pressure: number | undefined;
  highWatermark: number;
}

/**
 * How long an idle model may stay loaded: `baseMs` up to pressure 0.5, then shrinking linearly to
 * 0 at `highWatermark`, and 0 at or above it, so memory is handed back before it runs out rather
 * than after. Never more than the call requested: a call may shorten the policy, not lengthen it.
 * Whole milliseconds, never negative.
 *
 * @example
 * keepAliveMs({ baseMs: 900_000, pressure: 0.7, highWatermark: 0.9 }); // 450_000
 * keepAliveMs({ requestedMs: 0, baseMs: 900_000, pressure: 0.1, highWatermark: 0.9 }); // 0
 */
export function keepAliveMs(input: KeepAliveInput): number {
  const { requestedMs, baseMs, pressure, highWatermark } = input;
  const cap =
    requestedMs !== undefined && Number.isFinite(requestedMs) ? Math.max(0, requestedMs) : Number.POSITIVE_INFINITY;
  const base = Math.max(0, baseMs);
  let policy: number;
  if (pressure === undefined || (pressure <= FULL_KEEP_ALIVE_BELOW && pressure < highWatermark)) policy = base;
  else if (pressure >= highWatermark) policy = 0;
  else policy = (base * (highWatermark - pressure)) / (highWatermark - FULL_KEEP_ALIVE_BELOW);
  // Rounded, not floored: 0.9 - 0.8 is 0.0999… in floating point, and a quarter should stay a quarter.
  return Math.min(Math.floor(cap), Math.round(policy));
}

/**
 * Why a GPU could not be used, as a stable label for metrics and logs.
 *
 * @example
 * const code: GpuRefusal = "gpu-memory-pressure";
 */
export type GpuRefusal = "no-gpu-build" | "no-gpu" | "gpu-memory-pressure";

/**
 * Where a call runs. A `gpu-preferred` call sent to CPU says why, in words and as a label.
 *
 * @example
 * const { device, fallbackReason }: Placement = placeCall("gpu-preferred", context);
 * if (fallbackReason !== undefined) log.info(`running on ${device}: ${fallbackReason}`);
 */
export interface Placement {
  device: ComputeDevice;
  fallbackReason?: string;
  fallbackCode?: GpuRefusal;
}

/**
 * What `placeCall` looks at.
 *
 * @example
 * const context: PlacementContext = { snapshot, highWatermark: 0.9, modelSupportsGpu: true, model: "bge-m3" };
 */
export interface PlacementContext {
  snapshot: DeviceSnapshot;
  highWatermark: number;
  modelSupportsGpu: boolean;
  /** Named in the error message when given. */
  model?: string;
}

/**
 * Decides where a call runs. `cpu` always runs on CPU. A GPU is usable when the model has a GPU
 * build, the host has a GPU, and the least-loaded GPU's memory pressure is not above the high
 * watermark. Otherwise `gpu-preferred` falls back to CPU with the reason, and `gpu-required`
 * throws `SluiceError("DEVICE_UNAVAILABLE")` (never retried: waiting rarely frees a GPU), with
 * the reason in the message and `details.reason`.
 *
 * @example
 * placeCall("gpu-preferred", { snapshot, highWatermark: 0.9, modelSupportsGpu: true });
 * // { device: "cpu", fallbackReason: "no GPU is available on this host", fallbackCode: "no-gpu" } on a CPU-only host
 */
export function placeCall(preference: DevicePreference, context: PlacementContext): Placement {
  if (preference === "cpu") return { device: "cpu" };
  const refusal = gpuRefusal(context);
  if (refusal === undefined) return { device: "cuda" };
  if (preference === "gpu-preferred")
    return { device: "cpu", fallbackReason: refusal.message, fallbackCode: refusal.code };
  const what = context.model === undefined ? "gpu-required call" : `gpu-required call to model "${context.model}"`;
  throw new SluiceError("DEVICE_UNAVAILABLE", `${what} cannot run: ${refusal.message}`, {
    details: {
      reason: refusal.code,
      preference,
      highWatermark: context.highWatermark,
      ...(refusal.pressure === undefined ? {} : { pressure: refusal.pressure }),
      ...(context.model === undefined ? {} : { model: context.model }),
    },
  });
}

function gpuRefusal(context: PlacementContext): { code: GpuRefusal; message: string; pressure?: number } | undefined {
  if (!context.modelSupportsGpu) return { code: "no-gpu-build", message: "the model has no GPU build" };
  const pressure = memoryPressure(context.snapshot, "cuda");
  if (pressure === undefined) return { code: "no-gpu", message: "no GPU is available on this host" };
  if (pressure > context.highWatermark) {
    return {
      code: "gpu-memory-pressure",
      message: `GPU memory pressure ${percent(pressure)} is above the high watermark ${percent(context.highWatermark)}`,
      pressure,
    };
  }
  return undefined;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function clamp01(value: number): number {
  return Number.isNaN(value) ? 1 : Math.min(1, Math.max(0, value));
}
