import type * as grpc from "@grpc/grpc-js";
import type { EmbedOptions, ModelParams } from "../../models/ports.ts";
import type { EmbedRequestWire, EmbedSparseReplyWire } from "../../models/remote/messages.ts";
import { kindFromWire, paramsFromWire } from "../../models/remote/wire-params.ts";
import { serviceQueue } from "./service-queue.ts";
import type { ServiceDeps } from "../service-deps.ts";
import { unaryHandler } from "../unary-handler.ts";
import { requestTexts } from "./embed-service.ts";

/**
 * `sluice.model.v1.SparseEncoder`: term weights per text, dynamically batched like Embed.
 *
 * @example
 * server.addService(modelProto().sparse.service, sparseService(deps));
 */
export function sparseService(deps: ServiceDeps): grpc.UntypedServiceImplementation {
  const queue = serviceQueue<string, Record<string, number>>(
    deps,
    "sparse",
    (key, texts, signal) => {
      const { kind, params } = JSON.parse(key) as { kind: EmbedOptions["kind"]; params: ModelParams };
      return deps.models.sparseEncoder().encode(texts, { signal, params, ...(kind ? { kind } : {}) });
    },
    (text) => text.length,
  );
  return {
    EmbedSparse: unaryHandler<EmbedRequestWire, EmbedSparseReplyWire>("EmbedSparse", deps, async (request, ctx) => {
      const texts = requestTexts(request.texts, "EmbedSparse");
      const params = paramsFromWire(request.params, "EmbedSparse");
      const lease = await deps.leases.acquire("sparse", params);
      try {
        const kind = kindFromWire(request.kind);
        const { results, queueTimeNs, inferenceTimeNs } = await queue.submit(JSON.stringify({ kind, params }), texts, {
          signal: ctx.signal,
          ...(ctx.deadline ? { deadline: ctx.deadline } : {}),
        });
        return {
          model: deps.models.sparseEncoder().id,
          vectors: results.map((weights) => ({ terms: Object.keys(weights), weights: Object.values(weights) })),
          timing: { queueTimeNs: Number(queueTimeNs), inferenceTimeNs: Number(inferenceTimeNs), device: lease.device },
        };
      } finally {
        lease.release();
      }
    }),
  };
}
