import type { SluiceConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import { InProcessModels } from "./in-process-models.ts";
import type { ModelPlane } from "./model-plane.ts";
import { GrpcModels } from "./remote/grpc-models.ts";

/**
 * Which model plane a process uses: `models.mode` in sluice.yaml, overridden by SLUICE_MODELS
 * (`in-process` or `remote`); the remote address by SLUICE_MODEL_SERVER.
 *
 * @example
 * const models = createModelPlane(config); // SLUICE_MODELS=remote → GrpcModels
 */
export function createModelPlane(config: SluiceConfig, env: NodeJS.ProcessEnv = process.env): ModelPlane {
  const mode = env["SLUICE_MODELS"] ?? config.models.mode;
  if (mode === "remote") {
    const remote = config.models.remote;
    return new GrpcModels({
      address: env["SLUICE_MODEL_SERVER"] ?? remote.address,
      timeoutMs: remote.timeoutMs,
      maxInFlight: remote.maxInFlight,
      ...(remote.tls ? { tls: remote.tls } : {}),
    });
  }
  if (mode !== "in-process") throw new SluiceError("CONFIG_INVALID", `SLUICE_MODELS must be "in-process" or "remote", got ${JSON.stringify(mode)}`, { details: { mode } });
  return new InProcessModels({ embedder: config.embedder, ocrLanguages: config.ocr.languages });
}
