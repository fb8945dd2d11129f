import type * as grpc from "@grpc/grpc-js";
import { SluiceError } from "../../contracts/errors.ts";
import type { ModelParams, OcrInput, OcrResult } from "../../models/ports.ts";
import type { OcrReplyWire, OcrRequestWire } from "../../models/remote/messages.ts";
import { paramsFromWire } from "../../models/remote/wire-params.ts";
import { serviceQueue } from "./service-queue.ts";
import type { ServiceDeps } from "../service-deps.ts";
import { unaryHandler } from "../unary-handler.ts";

const MEDIA_TYPES = ["image/png", "image/jpeg", "application/pdf"] as const;

/**
 * `sluice.model.v1.Ocr`: one image or PDF page per call, through a bounded queue (one page at a
 * time per engine; a cancelled call that has not started never runs).
 *
 * @example
 * server.addService(modelProto().ocr.service, ocrService(deps));
 */
export function ocrService(deps: ServiceDeps): grpc.UntypedServiceImplementation {
  const queue = serviceQueue<OcrInput, OcrResult>(
    deps,
    "ocr",
    async (key, inputs, signal) => {
      const params = JSON.parse(key) as ModelParams;
      const out: OcrResult[] = [];
      for (const input of inputs) out.push(await deps.models.ocr().recognize(input, { signal, params }));
      return out;
    },
    () => 1,
    // One page per model call; a page weighs as much as many texts, so fewer may wait.
    {
      maxBatchItems: 1,
      maxBatchWeight: 1,
      maxWaitMs: 0,
      maxQueuedItems: Math.max(1, Math.floor(deps.batching.maxQueuedItems / 64)),
    },
  );
  return {
    Recognize: unaryHandler<OcrRequestWire, OcrReplyWire>("Recognize", deps, async (request, ctx) => {
      const mediaType = MEDIA_TYPES.find((m) => m === request.mediaType);
      if (!mediaType)
        throw new SluiceError(
          "VALIDATION_FAILED",
          `Recognize: media_type must be one of ${MEDIA_TYPES.join(", ")}, got ${JSON.stringify(request.mediaType)}`,
        );
      if (!request.data || request.data.length === 0)
        throw new SluiceError("VALIDATION_FAILED", "Recognize: data is empty");
      const params = paramsFromWire(request.params, "Recognize");
      const lease = await deps.leases.acquire("ocr", params);
      try {
        // proto3 `optional`: an unset page arrives as null or undefined, and means page 1.
        const input: OcrInput = {
          data: request.data,
          mediaType,
          ...(request.page !== undefined && request.page !== null ? { page: request.page } : {}),
        };
        const { results, queueTimeNs, inferenceTimeNs } = await queue.submit(JSON.stringify(params), [input], {
          signal: ctx.signal,
          ...(ctx.deadline ? { deadline: ctx.deadline } : {}),
        });
        const result = results[0]!;
        return {
          model: deps.models.ocr().id,
          text: result.text,
          confidence: result.confidence,
          words: result.words,
          languages: result.languages,
          timing: { queueTimeNs: Number(queueTimeNs), inferenceTimeNs: Number(inferenceTimeNs), device: lease.device },
        };
      } finally {
        lease.release();
      }
    }),
  };
}
