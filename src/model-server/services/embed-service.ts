import type * as grpc from "@grpc/grpc-js";
import { SluiceError } from "../../contracts/errors.ts";
import type { EmbedOptions, ModelParams } from "../../models/ports.ts";
import type { EmbedReplyWire, EmbedRequestWire } from "../../models/remote/messages.ts";
import { encodeVectors } from "../../models/remote/vector-bytes.ts";
import { embedConcurrency } from "../../models/threaded-embedder.ts";
import { kindFromWire, paramsFromWire } from "../../models/remote/wire-params.ts";
import { serviceQueue } from "./service-queue.ts";
import type { ServiceDeps } from "../service-deps.ts";
import { unaryHandler } from "../unary-handler.ts";

interface BatchKey {
  kind: EmbedOptions["kind"];
  params: ModelParams;
}

/**
 * Checks the texts of an Embed or EmbedSparse request (INVALID_ARGUMENT otherwise).
 *
 * @example
 * const texts = requestTexts(call.request.texts, "Embed");
 */
export function requestTexts(texts: unknown, method: string): string[] {
  if (!Array.isArray(texts) || texts.some((t) => typeof t !== "string"))
    throw new SluiceError("VALIDATION_FAILED", `${method}: texts must be a list of strings`);
  const empty = texts.findIndex((t: string) => t.length === 0);
  if (empty >= 0) throw new SluiceError("VALIDATION_FAILED", `${method}: texts[${empty}] is empty`);
  return texts as string[];
}

/**
 * `sluice.model.v1.Embedder`: texts from concurrent calls share dynamic batches (same kind and
 * parameters), and the reply carries the call's queue and model time.
 *
 * @example
 * server.addService(modelProto().embed.service, embedService(deps));
 */
export function embedService(deps: ServiceDeps): grpc.UntypedServiceImplementation {
  const queue = serviceQueue<string, Float32Array>(
    deps,
    "embed",
    (key, texts, signal) => {
      const { kind, params } = JSON.parse(key) as BatchKey;
      return deps.models.embedder().embed(texts, { signal, params, ...(kind ? { kind } : {}) });
    },
    (text) => text.length,
    // A pool of embedder threads takes one batch per thread at once.
    { concurrency: embedConcurrency(deps.models.embedder()) },
  );
  return {
    Embed: unaryHandler<EmbedRequestWire, EmbedReplyWire>("Embed", deps, async (request, ctx) => {
      const texts = requestTexts(request.texts, "Embed");
      const params = paramsFromWire(request.params, "Embed");
      const lease = await deps.leases.acquire("embed", params);
      try {
        const key: BatchKey = { kind: kindFromWire(request.kind), params };
        const { results, queueTimeNs, inferenceTimeNs } = await queue.submit(JSON.stringify(key), texts, {
          signal: ctx.signal,
          ...(ctx.deadline ? { deadline: ctx.deadline } : {}),
        });
        const embedder = deps.models.embedder();
        return {
          model: embedder.id,
          dimensions: embedder.dimensions,
          vectors: encodeVectors(results, embedder.dimensions),
          count: results.length,
          timing: { queueTimeNs: Number(queueTimeNs), inferenceTimeNs: Number(inferenceTimeNs), device: lease.device },
        };
      } finally {
        lease.release();
      }
    }),
  };
}
