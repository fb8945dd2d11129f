import { isSluiceError, SluiceError } from "../../contracts/errors.ts";
import type { DevicePreference, ModelParams } from "../ports.ts";
import type { ComputeDevice, DeviceMonitor, DeviceSnapshot } from "./device-monitor.ts";
import { keepAliveMs, memoryPressure, placeCall, type Placement } from "./residency-policy.ts";
import type {
  ModelLease,
  ModelResidency,
  ResidencyEvent,
  ResidencyManagerOptions,
  ResidencyState,
  ResidentModel,
} from "./residency-types.ts";

// The manager's own vocabulary, importable from here as well as from the barrel.
export type {
  ModelLease,
  ModelResidency,
  ResidencyEvent,
  ResidencyManagerOptions,
  ResidencyState,
  ResidentModel,
} from "./residency-types.ts";

interface Transition {
  readonly kind: "load" | "unload";
  /** Where a load puts the model. */
  readonly device: ComputeDevice | undefined;
  done: Promise<void>;
}

interface Entry {
  readonly model: ResidentModel;
  state: ResidencyState;
  device: ComputeDevice | undefined;
  active: number;
  waiting: number;
  /** Callers waiting for the leases to drain so they can move the model to the other device. */
  movers: number;
  lastUsedAt: number | undefined;
  requestedKeepAliveMs: number | undefined;
  /** Why the model went to CPU when a GPU was asked for, told to calls that join it there. */
  cpuReason: string | undefined;
  transition: Transition | undefined;
  /** Resolved and replaced on every change (a release, a transition's end, close): waiters loop on it. */
  changed: { promise: Promise<void>; resolve: () => void };
}

/**
 * Decides where each model call runs and when idle models leave memory. A model is loaded on the
 * first call (placed by `placeCall` on the latest device snapshot), shared by the calls that come
 * while it loads, and kept while any call holds a lease. `tick()` (every `pollMs` after `start()`)
 * samples the monitor and unloads each idle model whose idle time reached its keep-alive, which
 * shrinks as memory fills and is capped by the last call's `keepAliveMs`.
 *
 * A loaded model serves every call its device satisfies: `gpu-preferred` runs where the model is,
 * so a model on a GPU keeps serving even when the GPU fills up (its memory is spent already; moving
 * it out and back would thrash). A `cpu` call to a model on a GPU, or a `gpu-required` call to one
 * on CPU, waits for the leases to drain, then moves the model (unload, load elsewhere); calls that
 * arrive meanwhile wait too, so the move cannot starve. Mixing such preferences on one model makes
 * it move back and forth; give each model one preference.
 *
 * `close()` rejects new and waiting calls, waits up to `closeTimeoutMs` for leases to be released,
 * lets loads in flight finish, then unloads every model, in use or not (a warning names any still in use).
 *
 * @example
 * const manager = new ResidencyManager({ monitor: new NvidiaSmiMonitor(), ...config.modelServer.residency });
 * manager.register(embedderModel);
 * manager.start();
 * const lease = await manager.acquire("bge-m3", { device: "gpu-preferred", keepAliveMs: 60_000 });
 * try { await embed(lease.device); } finally { lease.release(); }
 */
export class ResidencyManager {
  private readonly monitor: DeviceMonitor;
  private readonly baseKeepAliveMs: number;
  private readonly highWatermark: number;
  private readonly pollMs: number;
  private readonly defaultDevice: DevicePreference;
  private readonly closeTimeoutMs: number;
  private readonly now: () => number;
  private readonly onChange: (event: ResidencyEvent) => void;
  private readonly onWarning: (message: string, error?: unknown) => void;
  private readonly entries = new Map<string, Entry>();
  private latest: DeviceSnapshot | undefined;
  private sampling: Promise<DeviceSnapshot> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private started = false;
  private closing = false;
  private closed: Promise<void> | undefined;

  constructor(options: ResidencyManagerOptions) {
    if (!(options.keepAliveMs >= 0))
      throw new SluiceError("CONFIG_INVALID", `keepAliveMs must be 0 or more, got ${options.keepAliveMs}`);
    if (!(options.highWatermark >= 0 && options.highWatermark <= 1))
      throw new SluiceError("CONFIG_INVALID", `highWatermark must be within 0-1, got ${options.highWatermark}`);
    if (!(options.pollMs > 0))
      throw new SluiceError("CONFIG_INVALID", `pollMs must be positive, got ${options.pollMs}`);
    this.monitor = options.monitor;
    this.baseKeepAliveMs = options.keepAliveMs;
    this.highWatermark = options.highWatermark;
    this.pollMs = options.pollMs;
    this.defaultDevice = options.defaultDevice ?? "gpu-preferred";
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    this.now = options.now ?? Date.now;
    this.onChange = options.onChange ?? (() => {});
    this.onWarning = options.onWarning ?? (() => {});
  }

  /** Adds a model, unloaded. Names are unique. */
  register(model: ResidentModel): void {
    if (this.closing) throw closedError(model.name);
    if (this.entries.has(model.name))
      throw new SluiceError("CONFIG_INVALID", `model "${model.name}" is registered twice`, {
        details: { model: model.name },
      });
    this.entries.set(model.name, {
      model,
      state: "unloaded",
      device: undefined,
      active: 0,
      waiting: 0,
      movers: 0,
      lastUsedAt: undefined,
      requestedKeepAliveMs: undefined,
      cpuReason: undefined,
      transition: undefined,
      changed: deferred(),
    });
  }

  /**
   * Leases `name` for one call, loading it first where needed. Throws `NOT_FOUND` for an
   * unregistered name, `DEVICE_UNAVAILABLE` for a `gpu-required` call with no usable GPU (nothing
   * is loaded), `MODEL_UNAVAILABLE` after close, and the load's error (a `SluiceError` as thrown,
   * anything else as `MODEL_UNAVAILABLE`) to every call that waited on a failed load; before the
   * first snapshot it samples the monitor and passes on its error. The call's `keepAliveMs`
   * becomes the model's cap until the next call says otherwise. Params absent → `defaultDevice`.
   */
  async acquire(name: string, params: ModelParams = {}): Promise<ModelLease> {
    const entry = this.entries.get(name);
    if (entry === undefined) {
      throw new SluiceError("NOT_FOUND", `no model named "${name}" is registered`, {
        details: { model: name, registered: [...this.entries.keys()] },
      });
    }
    const preference = params.device ?? this.defaultDevice;
    // Counted from the start, so a tick never unloads a model between its load and this lease.
    entry.waiting++;
    try {
      for (;;) {
        const transition = entry.transition;
        if (transition !== undefined) {
          if (transition.kind === "load" && transition.device !== undefined && satisfies(transition.device, preference))
            await transition.done;
          else await transition.done.catch(() => undefined);
          continue;
        }
        if (this.closing) throw closedError(name);
        if (this.latest === undefined) {
          await this.refresh();
          continue;
        }
        if (entry.state === "loaded" && entry.device !== undefined) {
          if (satisfies(entry.device, preference)) {
            if (entry.movers === 0) return this.lease(entry, preference, params.keepAliveMs);
            await entry.changed.promise;
            continue;
          }
          const target = this.place(entry, preference);
          if (entry.active > 0) {
            // While a mover waits, calls the current device satisfies wait too, so the leases can drain.
            entry.movers++;
            try {
              await entry.changed.promise;
            } finally {
              entry.movers--;
            }
            continue;
          }
          await this.startLoad(entry, target, `moving to ${target.device} for a ${preference} call`);
          continue;
        }
        await this.startLoad(entry, this.place(entry, preference));
      }
    } finally {
      entry.waiting--;
    }
  }

  /**
   * Samples the monitor, then unloads every model that is loaded, not in use, not being acquired,
   * and idle for at least its keep-alive. Rejects only when the monitor does.
   */
  async tick(): Promise<void> {
    const snapshot = await this.refresh();
    if (this.closing) return;
    const now = this.now();
    const unloads: Array<Promise<void>> = [];
    for (const entry of this.entries.values()) {
      if (
        entry.state !== "loaded" ||
        entry.device === undefined ||
        entry.transition !== undefined ||
        entry.active > 0 ||
        entry.waiting > 0
      )
        continue;
      const keepAlive = this.keepAliveFor(entry, snapshot);
      const idle = now - (entry.lastUsedAt ?? now);
      if (idle < keepAlive) continue;
      const pressure = memoryPressure(snapshot, entry.device);
      const reason =
        pressure !== undefined && pressure >= this.highWatermark
          ? `memory pressure ${pressure.toFixed(3)} reached the high watermark ${this.highWatermark}`
          : `idle for ${idle} ms (keep-alive ${keepAlive} ms)`;
      unloads.push(this.startTransition(entry, "unload", undefined, () => this.unloadNow(entry, reason)));
    }
    await Promise.all(unloads);
  }

  /** Ticks now and then every `pollMs` (an unref'd timer: it never keeps the process up) until `close()`. */
  start(): void {
    if (this.started || this.closing) return;
    this.started = true;
    const run = (): void => {
      this.timer = undefined;
      void this.tick()
        .catch((err: unknown) => this.warn("residency tick failed; models stay as they are until the next one", err))
        .finally(() => {
          if (this.closing) return;
          this.timer = setTimeout(run, this.pollMs);
          this.timer.unref();
        });
    };
    run();
  }

  /** Stops ticking and unloads every model (see the class notes). Safe to call more than once. */
  close(): Promise<void> {
    this.closed ??= this.shutdown();
    return this.closed;
  }

  /** Every registered model, in registration order. */
  snapshot(): ModelResidency[] {
    const now = this.now();
    return [...this.entries.values()].map((e) => ({
      name: e.model.name,
      state: e.state,
      device: e.device,
      inUse: e.active,
      waiting: e.waiting,
      lastUsedAt: e.lastUsedAt,
      idleMs:
        e.state === "loaded" && e.active === 0 && e.lastUsedAt !== undefined ? Math.max(0, now - e.lastUsedAt) : 0,
      keepAliveMs: this.keepAliveFor(e, this.latest),
    }));
  }

  /** The last device snapshot a tick (or the first acquire) took; `undefined` before any. */
  deviceSnapshot(): DeviceSnapshot | undefined {
    return this.latest;
  }

  private place(entry: Entry, preference: DevicePreference): Placement {
    return placeCall(preference, {
      snapshot: this.latest as DeviceSnapshot,
      highWatermark: this.highWatermark,
      modelSupportsGpu: entry.model.supportsGpu,
      model: entry.model.name,
    });
  }

  private lease(entry: Entry, preference: DevicePreference, requestedKeepAliveMs: number | undefined): ModelLease {
    const device = entry.device as ComputeDevice;
    entry.active++;
    entry.lastUsedAt = this.now();
    entry.requestedKeepAliveMs = requestedKeepAliveMs;
    let released = false;
    const fallbackReason =
      preference === "gpu-preferred" && device === "cpu"
        ? (entry.cpuReason ?? `the model is loaded on cpu`)
        : undefined;
    return {
      device,
      ...(fallbackReason === undefined ? {} : { fallbackReason }),
      release: () => {
        if (released) return;
        released = true;
        entry.active--;
        entry.lastUsedAt = this.now();
        this.notify(entry);
      },
    };
  }

  /** Loads the model where `placement` says, unloading it first when `moveReason` is given. */
  private startLoad(entry: Entry, placement: Placement, moveReason?: string): Promise<void> {
    const { device } = placement;
    return this.startTransition(entry, "load", device, async () => {
      if (moveReason !== undefined) await this.unloadNow(entry, moveReason);
      entry.state = "loading";
      entry.device = device;
      this.emit({
        model: entry.model.name,
        state: "loading",
        device,
        ...(placement.fallbackReason === undefined ? {} : { reason: placement.fallbackReason }),
      });
      try {
        await entry.model.load(device);
      } catch (err) {
        entry.state = "unloaded";
        entry.device = undefined;
        const message = err instanceof Error ? err.message : String(err);
        this.emit({ model: entry.model.name, state: "unloaded", device, reason: `load failed: ${message}` });
        throw isSluiceError(err)
          ? err
          : new SluiceError(
              "MODEL_UNAVAILABLE",
              `loading model "${entry.model.name}" on ${device} failed: ${message}`,
              { cause: err, details: { model: entry.model.name, device } },
            );
      }
      entry.state = "loaded";
      entry.lastUsedAt = this.now();
      entry.cpuReason = placement.fallbackReason;
      this.emit({ model: entry.model.name, state: "loaded", device });
    });
  }

  /** Never rejects: a model whose unload failed counts as unloaded, since only a fresh load gives a known state. */
  private async unloadNow(entry: Entry, reason: string): Promise<void> {
    const device = entry.device as ComputeDevice;
    entry.state = "unloading";
    try {
      await entry.model.unload();
    } catch (err) {
      this.warn(
        `unloading model "${entry.model.name}" failed; it counts as unloaded and loads afresh on its next call`,
        err,
      );
    }
    entry.state = "unloaded";
    entry.device = undefined;
    this.emit({ model: entry.model.name, state: "unloaded", device, reason });
  }

  private startTransition(
    entry: Entry,
    kind: Transition["kind"],
    device: ComputeDevice | undefined,
    body: () => Promise<void>,
  ): Promise<void> {
    const transition: Transition = { kind, device, done: Promise.resolve() };
    entry.transition = transition;
    // `await body()` always yields, so `done` is assigned before the `finally` clears the transition.
    transition.done = (async () => {
      try {
        await body();
      } finally {
        if (entry.transition === transition) entry.transition = undefined;
        this.notify(entry);
      }
    })();
    // Callers that wait on it see the outcome; this only keeps an unwatched failure from going unhandled.
    transition.done.catch(() => undefined);
    return transition.done;
  }

  private refresh(): Promise<DeviceSnapshot> {
    // Callers arriving together share one sample (nvidia-smi is a process spawn).
    this.sampling ??= this.monitor
      .sample()
      .then((snapshot) => {
        this.latest = snapshot;
        return snapshot;
      })
      .finally(() => {
        this.sampling = undefined;
      });
    return this.sampling;
  }

  private keepAliveFor(entry: Entry, snapshot: DeviceSnapshot | undefined): number {
    const pressure =
      snapshot !== undefined && entry.device !== undefined ? memoryPressure(snapshot, entry.device) : undefined;
    return keepAliveMs({
      requestedMs: entry.requestedKeepAliveMs,
      baseMs: this.baseKeepAliveMs,
      pressure,
      highWatermark: this.highWatermark,
    });
  }

  private async shutdown(): Promise<void> {
    this.closing = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    const entries = [...this.entries.values()];
    for (const entry of entries) this.notify(entry);
    await this.drain(entries);
    await Promise.all(
      entries.map(async (entry) => {
        while (entry.transition !== undefined) await entry.transition.done.catch(() => undefined);
        if (entry.state !== "loaded") return;
        const reason = entry.active > 0 ? `closing with ${entry.active} call(s) still in use` : "closing";
        await this.startTransition(entry, "unload", undefined, () => this.unloadNow(entry, reason));
      }),
    );
  }

  /** Waits until no lease is held, or `closeTimeoutMs` passed. */
  private async drain(entries: Entry[]): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const deadline = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        timedOut = true;
        resolve();
      }, this.closeTimeoutMs);
    });
    try {
      while (!timedOut && entries.some((e) => e.active > 0))
        await Promise.race([deadline, ...entries.map((e) => e.changed.promise)]);
    } finally {
      clearTimeout(timer);
    }
    const busy = entries.filter((e) => e.active > 0).map((e) => `${e.model.name} (${e.active})`);
    if (busy.length > 0)
      this.warn(
        `closing after ${this.closeTimeoutMs} ms with calls still in use: ${busy.join(", ")}; unloading them anyway`,
      );
  }

  private notify(entry: Entry): void {
    const { resolve } = entry.changed;
    entry.changed = deferred();
    resolve();
  }

  private emit(event: ResidencyEvent): void {
    try {
      this.onChange(event);
    } catch (err) {
      this.warn("a residency onChange listener threw", err);
    }
  }

  private warn(message: string, error?: unknown): void {
    try {
      this.onWarning(message, error);
    } catch {
      // Nowhere left to report to; the manager's state must not depend on its logger.
    }
  }
}

function satisfies(device: ComputeDevice, preference: DevicePreference): boolean {
  if (preference === "gpu-preferred") return true;
  return preference === "cpu" ? device === "cpu" : device === "cuda";
}

function closedError(model: string): SluiceError {
  return new SluiceError("MODEL_UNAVAILABLE", `the residency manager is closed; model "${model}" cannot be used`, {
    details: { model },
  });
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
