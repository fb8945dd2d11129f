import type * as grpc from "@grpc/grpc-js";
import { SluiceError } from "../../contracts/errors.ts";
import type { ModelParams } from "../../models/ports.ts";
import type { RerankReplyWire, RerankRequestWire } from "../../models/remote/messages.ts";
import { paramsFromWire } from "../../models/remote/wire-params.ts";
import { serviceQueue } from "./service-queue.ts";
import type { ServiceDeps } from "../service-deps.ts";
import { unaryHandler } from "../unary-handler.ts";

interface Pair {
  query: string;
  passage: string;
}

/**
 * `sluice.model.v1.Reranker`: (query, passage) pairs from concurrent calls share batches; within a
 * batch each query's passages go to the reranker together.
 *
 * @example
 * server.addService(modelProto().rerank.service, rerankService(deps));
 */
export function rerankService(deps: ServiceDeps): grpc.UntypedServiceImplementation {
  const queue = serviceQueue<Pair, number>(
    deps,
    "rerank",
    async (key, pairs, signal) => {
      const params = JSON.parse(key) as ModelParams;
      const scores: number[] = [];
      for (let start = 0; start < pairs.length;) {
        const query = pairs[start]!.query;
        let end = start;
        while (end < pairs.length && pairs[end]!.query === query) end++;
        scores.push(
          ...(await deps.models.reranker().rerank(
            query,
            pairs.slice(start, end).map((p) => p.passage),
            { signal, params },
          )),
        );
        start = end;
      }
      return scores;
    },
    (pair) => pair.query.length + pair.passage.length,
  );
  return {
    Rerank: unaryHandler<RerankRequestWire, RerankReplyWire>("Rerank", deps, async (request, ctx) => {
      if (typeof request.query !== "string" || request.query.length === 0)
        throw new SluiceError("VALIDATION_FAILED", "Rerank: query is empty");
      const params = paramsFromWire(request.params, "Rerank");
      const lease = await deps.leases.acquire("rerank", params);
      try {
        const pairs = request.passages.map((passage) => ({ query: request.query, passage }));
        const { results, queueTimeNs, inferenceTimeNs } = await queue.submit(JSON.stringify(params), pairs, {
          signal: ctx.signal,
          ...(ctx.deadline ? { deadline: ctx.deadline } : {}),
        });
        return {
          model: deps.models.reranker().id,
          scores: results,
          timing: { queueTimeNs: Number(queueTimeNs), inferenceTimeNs: Number(inferenceTimeNs), device: lease.device },
        };
      } finally {
        lease.release();
      }
    }),
  };
}
