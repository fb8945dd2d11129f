import { SluiceError } from "../../contracts/errors.ts";
import type { EmbedOptions, SparseEncoder } from "../ports.ts";
import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { EmbedSparseReplyWire } from "./messages.ts";
import { paramsToWire } from "./wire-params.ts";

/**
 * The model server's sparse encoder behind the `SparseEncoder` port. Its `id` is the server's
 * model after `warmUp()`.
 *
 * @example
 * const [weights] = await new RemoteSparseEncoder(client).encode(["resume a failed job"]);
 */
export class RemoteSparseEncoder implements SparseEncoder {
  readonly #client: GrpcModelClient;
  #model: string | undefined;

  constructor(client: GrpcModelClient) {
    this.#client = client;
  }

  get id(): string {
    if (!this.#model) throw new SluiceError("INTERNAL", `remote sparse encoder at ${this.#client.address}: call warmUp() before reading its model`);
    return this.#model;
  }

  async warmUp(): Promise<void> {
    if (this.#model) return;
    const info = await this.#client.info();
    const model = info.models.find((m) => m.service === "sparse");
    if (!model) throw new SluiceError("MODEL_UNAVAILABLE", `model server ${this.#client.address} serves no sparse encoder`);
    this.#model = model.model;
  }

  async encode(texts: readonly string[], options: EmbedOptions = {}): Promise<Array<Record<string, number>>> {
    options.signal?.throwIfAborted();
    if (texts.length === 0) return [];
    await this.warmUp();
    const kind = options.kind === "query" ? "TEXT_KIND_QUERY" : options.kind === "passage" ? "TEXT_KIND_PASSAGE" : "TEXT_KIND_UNSPECIFIED";
    const reply = await this.#client.call<EmbedSparseReplyWire>("sparse", "EmbedSparse", { texts, kind, params: paramsToWire(options.params) }, options);
    if (reply.vectors.length !== texts.length) throw new SluiceError("MODEL_BAD_RESPONSE", `model server ${this.#client.address} returned ${reply.vectors.length} sparse vectors for ${texts.length} texts`);
    return reply.vectors.map((v) => Object.fromEntries(v.terms.map((t, i) => [t, v.weights[i] ?? 0])));
  }

  async close(): Promise<void> {}
}
