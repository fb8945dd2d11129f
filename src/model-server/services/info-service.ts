import type * as grpc from "@grpc/grpc-js";
import type { GetInfoReplyWire } from "../../models/remote/messages.ts";
import type { HostedModels } from "../hosted-models.ts";
import type { ServiceDeps } from "../service-deps.ts";
import { unaryHandler } from "../unary-handler.ts";

/** The server's version, as Info reports it. */
export const SERVER_VERSION = "sluice-model-server/0.1.0";

/**
 * `sluice.model.v1.Info`: the hosted models with their ids, dimensions, languages, device and
 * residency, and the GPUs the device monitor last saw.
 *
 * @example
 * server.addService(modelProto().info.service, infoService(deps, hosted));
 */
export function infoService(
  deps: Pick<ServiceDeps, "metrics" | "logger">,
  hosted: HostedModels,
): grpc.UntypedServiceImplementation {
  return {
    GetInfo: unaryHandler<unknown, GetInfoReplyWire>("GetInfo", deps, async () => ({
      serverVersion: SERVER_VERSION,
      models: await hosted.describe(),
      gpus: hosted.gpus().map((g) => ({
        index: g.index,
        name: g.name,
        memoryTotalMib: g.memoryTotalMiB,
        memoryUsedMib: g.memoryUsedMiB,
      })),
    })),
  };
}
