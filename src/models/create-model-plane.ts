import type { SluiceConfig } from "../config/schema.ts";
import { InProcessModels } from "./in-process-models.ts";
import type { ModelPlane } from "./model-plane.ts";
import { resolveModelThreads } from "./threaded-embedder.ts";

/**
 * Which model plane a process uses: `models.mode` (env SLUICE_MODELS, applied by `loadConfig`),
 * at `models.remote.address` (env SLUICE_MODEL_SERVER) when remote. In-process models keep their
 * caches (the `static` embedder's words) in `dataDir`, and a `static` or `use-lite` embedder runs
 * in `models.threads` worker threads.
 *
 * @example
 * const models = await createModelPlane(config); // models.mode remote → GrpcModels
 */
export async function createModelPlane(config: SluiceConfig, dataDir?: string): Promise<ModelPlane> {
  if (config.models.mode === "remote") {
    // Imported only here: a process with in-process models never loads gRPC.
    const { GrpcModels } = await import("./remote/grpc-models.ts");
    const remote = config.models.remote;
    return new GrpcModels({
      address: remote.address,
      timeoutMs: remote.timeoutMs,
      maxInFlight: remote.maxInFlight,
      ...(remote.tls ? { tls: remote.tls } : {}),
    });
  }
  return new InProcessModels({
    embedder: config.embedder,
    ocrLanguages: config.ocr.languages,
    threads: resolveModelThreads(config.models.threads),
    ...(dataDir === undefined ? {} : { dataDir }),
  });
}
