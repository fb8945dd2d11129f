/**
 * Device monitoring and model residency for the model server: what the GPUs and host memory look
 * like, where each call runs, and when idle models leave memory. The pure policy functions are
 * exported too, so metrics and the Info RPC can explain a decision with the same arithmetic.
 *
 * @example
 * import { NvidiaSmiMonitor, ResidencyManager } from "../models/residency/index.ts";
 * const manager = new ResidencyManager({
 *   monitor: new NvidiaSmiMonitor({ onWarning: (m) => log.warn(m) }),
 *   ...config.modelServer.residency,
 * });
 */
export type { ComputeDevice, DeviceMonitor, DeviceSnapshot, GpuInfo, HostMemory } from "./device-monitor.ts";
export {
  NVIDIA_SMI_ARGS,
  NvidiaSmiMonitor,
  parseNvidiaSmiCsv,
  type NvidiaSmiMonitorOptions,
  type NvidiaSmiParseResult,
} from "./nvidia-smi-monitor.ts";
export { ManualDeviceMonitor, type ManualDeviceMonitorOptions, type ManualGpu } from "./manual-device-monitor.ts";
export {
  keepAliveMs,
  memoryPressure,
  placeCall,
  type GpuRefusal,
  type KeepAliveInput,
  type Placement,
  type PlacementContext,
} from "./residency-policy.ts";
export { ResidencyManager } from "./residency-manager.ts";
export type {
  ModelLease,
  ModelResidency,
  ResidencyEvent,
  ResidencyManagerOptions,
  ResidencyState,
  ResidentModel,
} from "./residency-types.ts";
