/** One kind of inference as the model plane serves it now. */
export interface ModelServiceStatus {
  /** embed, sparse, rerank or ocr. */
  service: string;
  /** The model's id (what a collection records for its vectors). */
  model: string;
  /** SERVING: it answers; NOT_SERVING: its server did not; IN_PROCESS: it runs in this process. */
  health: "SERVING" | "NOT_SERVING" | "IN_PROCESS";
  /** loaded, unloaded or loading (a model server's residency); in-process models load on first use. */
  residency: "loaded" | "unloaded" | "loading" | "on first use" | "unknown";
  device: string;
  dimensions?: number;
  /** How long it stays loaded when idle, and how long it has been idle (a model server's residency). */
  keepAliveMs?: number;
  idleMs?: number;
}

/** What the console's models page shows: where inference runs, each service's state, and the call queue. */
export interface ModelPlaneStatus {
  mode: "in-process" | "remote";
  /** The model server (remote). */
  address?: string;
  serverVersion?: string;
  /** Why the model server could not be asked (remote): its services are then NOT_SERVING. */
  error?: string;
  services: ModelServiceStatus[];
  /** Calls to the model server in flight, waiting for a slot, and the adaptive window (remote). */
  queue?: { inFlight: number; waiting: number; window: number };
  gpus: Array<{ index: number; name: string; memoryTotalMib: number; memoryUsedMib: number }>;
}
