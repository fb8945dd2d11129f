import type { Logger } from "pino";
import type { ModelServerConfig } from "../config/schema.ts";
import type { ModelPlane } from "../models/model-plane.ts";
import type { ModelParams } from "../models/ports.ts";
import type { ModelServerMetrics } from "./server-metrics.ts";

/** A model held for one call: where it runs, and the hand-back that lets residency unload it later. */
export interface ModelLease {
  device: "cpu" | "cuda";
  release(): void;
}

/** Places a call (device policy) and keeps its model loaded while the call runs. */
export interface ModelLeases {
  acquire(service: HostedService, params: ModelParams): Promise<ModelLease>;
}

export type HostedService = "embed" | "sparse" | "rerank" | "ocr";

/** What every service implementation of the model server is built from. */
export interface ServiceDeps {
  models: ModelPlane;
  leases: ModelLeases;
  metrics: ModelServerMetrics;
  logger: Logger;
  batching: ModelServerConfig["batching"];
}
