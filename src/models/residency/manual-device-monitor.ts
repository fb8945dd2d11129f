import { SluiceError } from "../../contracts/errors.ts";
import type { DeviceMonitor, DeviceSnapshot, GpuInfo, HostMemory } from "./device-monitor.ts";

/**
 * A GPU as a test describes it; the rest is filled in (index by position, 0 MiB used).
 *
 * @example
 * const gpu: ManualGpu = { memoryTotalMiB: 80_000, memoryUsedMiB: 72_000 };
 */
export interface ManualGpu {
  name?: string;
  memoryTotalMiB: number;
  memoryUsedMiB?: number;
  utilizationPercent?: number | null;
}

/**
 * Options of `ManualDeviceMonitor`.
 *
 * @example
 * const options: ManualDeviceMonitorOptions = { gpus: [{ memoryTotalMiB: 80_000 }], now: () => clock };
 */
export interface ManualDeviceMonitorOptions {
  gpus?: readonly ManualGpu[];
  /** Default 16 GiB, all free. */
  host?: HostMemory;
  /** Clock for `sampledAt`. Default `Date.now`. */
  now?: () => number;
}

/**
 * A `DeviceMonitor` whose machine the caller sets directly, for tests and for hosts whose
 * accelerators no monitor understands. Each sample is a copy, so later changes never alter a
 * snapshot already handed out.
 *
 * @example
 * const monitor = new ManualDeviceMonitor({ gpus: [{ memoryTotalMiB: 80_000 }] });
 * monitor.setGpuMemoryUsed(0, 76_000); // 95% used from the next sample on
 */
export class ManualDeviceMonitor implements DeviceMonitor {
  /** How many times `sample()` was called. */
  samples = 0;
  private gpus: GpuInfo[] = [];
  private host: HostMemory;
  private failure: Error | undefined;
  private readonly now: () => number;

  constructor(options: ManualDeviceMonitorOptions = {}) {
    this.setGpus(options.gpus ?? []);
    this.host = { ...(options.host ?? { totalBytes: 16 * 2 ** 30, freeBytes: 16 * 2 ** 30 }) };
    this.now = options.now ?? Date.now;
  }

  /** Replaces the GPUs; `[]` makes a CPU-only host. */
  setGpus(gpus: readonly ManualGpu[]): this {
    this.gpus = gpus.map((g, index) => ({
      index,
      name: g.name ?? `Manual GPU ${index}`,
      memoryTotalMiB: g.memoryTotalMiB,
      memoryUsedMiB: g.memoryUsedMiB ?? 0,
      utilizationPercent: g.utilizationPercent === undefined ? 0 : g.utilizationPercent,
    }));
    return this;
  }

  setGpuMemoryUsed(index: number, memoryUsedMiB: number): this {
    const gpu = this.gpus[index];
    if (gpu === undefined)
      throw new SluiceError("VALIDATION_FAILED", `no GPU ${index}: the monitor has ${this.gpus.length}`);
    gpu.memoryUsedMiB = memoryUsedMiB;
    return this;
  }

  setHostMemory(totalBytes: number, freeBytes: number): this {
    this.host = { totalBytes, freeBytes };
    return this;
  }

  /** Makes every following `sample()` reject with `error`, until called with `undefined`. */
  failWith(error: Error | undefined): this {
    this.failure = error;
    return this;
  }

  async sample(): Promise<DeviceSnapshot> {
    this.samples++;
    if (this.failure !== undefined) throw this.failure;
    return { gpus: this.gpus.map((g) => ({ ...g })), host: { ...this.host }, sampledAt: this.now() };
  }
}
