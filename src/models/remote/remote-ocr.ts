import type { ModelCallOptions, OcrEngine, OcrInput, OcrResult } from "../ports.ts";
import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { OcrReplyWire } from "./messages.ts";
import { RemoteModel } from "./remote-model.ts";
import { paramsToWire } from "./wire-params.ts";

/**
 * The model server's OCR behind the `OcrEngine` port: an image or a PDF page goes up, text with
 * word boxes and confidences comes back.
 *
 * @example
 * const { text } = await new RemoteOcr(client).recognize(
 *   { data: png, mediaType: "image/png" },
 *   { params: { languages: "eng+tha" } },
 * );
 */
export class RemoteOcr extends RemoteModel implements OcrEngine {
  constructor(client: GrpcModelClient) {
    super(client, "ocr", "OCR");
  }

  async recognize(input: OcrInput, options: ModelCallOptions = {}): Promise<OcrResult> {
    options.signal?.throwIfAborted();
    await this.warmUp();
    const request = {
      data: input.data,
      mediaType: input.mediaType,
      ...(input.page !== undefined ? { page: input.page } : {}),
      params: paramsToWire(options.params),
    };
    const reply = await this.client.call<OcrReplyWire>("ocr", "Recognize", request, options);
    return {
      text: reply.text,
      confidence: reply.confidence,
      languages: reply.languages,
      words: reply.words.map((w) => ({
        text: w.text,
        confidence: w.confidence,
        bbox: w.bbox ?? { x0: 0, y0: 0, x1: 0, y1: 0 },
      })),
    };
  }
}
