/**
 * What the residency policy knows about the machine: one snapshot of GPU and host memory, taken
 * by a `DeviceMonitor`. The model server samples it every `modelServer.residency.pollMs`.
 */

/**
 * Where a model is loaded and a call runs. `cuda` means "a GPU"; which GPU is the runtime's
 * business (CUDA_VISIBLE_DEVICES), not the policy's.
 *
 * @example
 * const device: ComputeDevice = placement.device; // "cpu" | "cuda"
 */
export type ComputeDevice = "cpu" | "cuda";

/**
 * One GPU as the driver reports it. Memory figures are MiB, as nvidia-smi prints them with
 * `nounits`. `utilizationPercent` is `null` where the driver answers `[N/A]` (MIG slices, some
 * consumer boards); nothing in the policy depends on it.
 *
 * @example
 * const gpu: GpuInfo = {
 *   index: 0,
 *   name: "NVIDIA H200",
 *   memoryTotalMiB: 143771,
 *   memoryUsedMiB: 1024,
 *   utilizationPercent: 3,
 * };
 */
export interface GpuInfo {
  index: number;
  name: string;
  memoryTotalMiB: number;
  memoryUsedMiB: number;
  utilizationPercent: number | null;
}

/**
 * Host (CPU-side) memory in bytes.
 *
 * @example
 * const host: HostMemory = { totalBytes: os.totalmem(), freeBytes: os.freemem() };
 */
export interface HostMemory {
  totalBytes: number;
  freeBytes: number;
}

/**
 * One sample of the machine. `gpus` is empty on a host without (usable) GPUs.
 *
 * @example
 * const snapshot: DeviceSnapshot = {
 *   gpus: [],
 *   host: { totalBytes: 16 * 2 ** 30, freeBytes: 8 * 2 ** 30 },
 *   sampledAt: Date.now(),
 * };
 */
export interface DeviceSnapshot {
  gpus: GpuInfo[];
  host: HostMemory;
  /** Epoch ms of the sample, from the monitor's clock. */
  sampledAt: number;
}

/**
 * Source of device snapshots. Implementations never reject for a missing or broken GPU driver:
 * they answer "no GPUs" and warn, because a host without GPUs is a normal host.
 *
 * @example
 * const monitor: DeviceMonitor = new NvidiaSmiMonitor({ onWarning: (m) => log.warn(m) });
 * const { gpus, host } = await monitor.sample();
 */
export interface DeviceMonitor {
  sample(): Promise<DeviceSnapshot>;
}
