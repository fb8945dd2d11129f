/**
 * The vocabulary of residency: the models a `ResidencyManager` holds, the leases calls take, the
 * events it reports and the view it gives the server's Info RPC and metrics.
 */
import type { DevicePreference } from "../ports.ts";
import type { ComputeDevice, DeviceMonitor } from "./device-monitor.ts";

/**
 * A model the server can load onto a device and unload again. `load` that rejects must leave
 * nothing behind: the manager counts the model as unloaded and never calls `unload` for it.
 *
 * @example
 * const model: ResidentModel = {
 *   name: "bge-m3",
 *   supportsGpu: true,
 *   load: (device) => session.open(device),
 *   unload: () => session.close(),
 * };
 */
export interface ResidentModel {
  readonly name: string;
  readonly supportsGpu: boolean;
  load(device: ComputeDevice): Promise<void>;
  unload(): Promise<void>;
}

/**
 * Where a model is in its life. `loading` and `unloading` only show in `snapshot()`; events
 * report the settled states.
 *
 * @example
 * const state: ResidencyState = manager.snapshot()[0]?.state ?? "unloaded";
 */
export type ResidencyState = "unloaded" | "loading" | "loaded" | "unloading";

/**
 * A model started loading, finished loading, or left memory (`reason` says why: idle, memory
 * pressure, a failed load, a move to the other device, close).
 *
 * @example
 * const event: ResidencyEvent = {
 *   model: "bge-m3",
 *   state: "unloaded",
 *   device: "cuda",
 *   reason: "idle for 900000 ms (keep-alive 900000 ms)",
 * };
 */
export interface ResidencyEvent {
  model: string;
  state: "loading" | "loaded" | "unloaded";
  device: ComputeDevice;
  reason?: string;
}

/**
 * Options of `ResidencyManager`; `keepAliveMs`, `highWatermark` and `pollMs` are
 * `modelServer.residency` from the config.
 *
 * @example
 * const options: ResidencyManagerOptions = { monitor: new NvidiaSmiMonitor(), ...config.modelServer.residency };
 */
export interface ResidencyManagerOptions {
  monitor: DeviceMonitor;
  keepAliveMs: number;
  highWatermark: number;
  pollMs: number;
  /** Preference of a call whose params name none. Default `gpu-preferred`: use a GPU when there is room. */
  defaultDevice?: DevicePreference;
  /** How long `close()` waits for calls in flight to release. Default 10 000 ms. */
  closeTimeoutMs?: number;
  /** Clock for idle times. Default `Date.now`; tests pass a fake. */
  now?: () => number;
  onChange?: (event: ResidencyEvent) => void;
  /** Told about failures that have no caller to reject: a failed tick or unload, a throwing `onChange`. */
  onWarning?: (message: string, error?: unknown) => void;
}

/**
 * A call's hold on a loaded model. The model is not unloaded while any lease is held; call
 * `release()` (once; more calls are ignored) when the call ends, in a `finally`.
 *
 * @example
 * const lease = await manager.acquire("bge-m3", params);
 * try { return await run(lease.device); } finally { lease.release(); }
 */
export interface ModelLease {
  readonly device: ComputeDevice;
  /** Set when a `gpu-preferred` call runs on CPU: why. */
  readonly fallbackReason?: string;
  release(): void;
}

/**
 * One model in `snapshot()`, for the server's Info RPC and metrics. `idleMs` is 0 while the model
 * is in use or not loaded; `keepAliveMs` is the keep-alive the next tick would apply.
 *
 * @example
 * for (const m of manager.snapshot()) gauge.set({ model: m.name, state: m.state }, m.inUse);
 */
export interface ModelResidency {
  name: string;
  state: ResidencyState;
  device: ComputeDevice | undefined;
  /** Leases held. */
  inUse: number;
  /** Calls inside `acquire`, waiting for a load, an unload or a move. */
  waiting: number;
  lastUsedAt: number | undefined;
  idleMs: number;
  keepAliveMs: number;
}
