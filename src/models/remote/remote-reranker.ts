import { SluiceError } from "../../contracts/errors.ts";
import type { ModelCallOptions, Reranker } from "../ports.ts";
import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { RerankReplyWire } from "./messages.ts";
import { RemoteModel } from "./remote-model.ts";
import { paramsToWire } from "./wire-params.ts";

/**
 * The model server's reranker behind the `Reranker` port.
 *
 * @example
 * const scores = await new RemoteReranker(client).rerank("resume a job", passages);
 */
export class RemoteReranker extends RemoteModel implements Reranker {
  constructor(client: GrpcModelClient) {
    super(client, "rerank", "reranker");
  }

  async rerank(query: string, passages: readonly string[], options: ModelCallOptions = {}): Promise<number[]> {
    options.signal?.throwIfAborted();
    if (passages.length === 0) return [];
    await this.warmUp();
    const reply = await this.client.call<RerankReplyWire>(
      "rerank",
      "Rerank",
      { query, passages, params: paramsToWire(options.params) },
      options,
    );
    if (reply.scores.length !== passages.length)
      throw new SluiceError(
        "MODEL_BAD_RESPONSE",
        `model server ${this.client.address} returned ${reply.scores.length} scores for ${passages.length} passages`,
      );
    return reply.scores;
  }
}
