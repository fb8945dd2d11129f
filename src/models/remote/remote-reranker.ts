import { SluiceError } from "../../contracts/errors.ts";
import type { ModelCallOptions, Reranker } from "../ports.ts";
import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { RerankReplyWire } from "./messages.ts";
import { paramsToWire } from "./wire-params.ts";

/**
 * The model server's reranker behind the `Reranker` port.
 *
 * @example
 * const scores = await new RemoteReranker(client).rerank("resume a job", passages);
 */
export class RemoteReranker implements Reranker {
  readonly #client: GrpcModelClient;
  #model: string | undefined;

  constructor(client: GrpcModelClient) {
    this.#client = client;
  }

  get id(): string {
    if (!this.#model) throw new SluiceError("INTERNAL", `remote reranker at ${this.#client.address}: call warmUp() before reading its model`);
    return this.#model;
  }

  async warmUp(): Promise<void> {
    if (this.#model) return;
    const model = (await this.#client.info()).models.find((m) => m.service === "rerank");
    if (!model) throw new SluiceError("MODEL_UNAVAILABLE", `model server ${this.#client.address} serves no reranker`);
    this.#model = model.model;
  }

  async rerank(query: string, passages: readonly string[], options: ModelCallOptions = {}): Promise<number[]> {
    options.signal?.throwIfAborted();
    if (passages.length === 0) return [];
    await this.warmUp();
    const reply = await this.#client.call<RerankReplyWire>("rerank", "Rerank", { query, passages, params: paramsToWire(options.params) }, options);
    if (reply.scores.length !== passages.length) throw new SluiceError("MODEL_BAD_RESPONSE", `model server ${this.#client.address} returned ${reply.scores.length} scores for ${passages.length} passages`);
    return reply.scores;
  }

  async close(): Promise<void> {}
}
