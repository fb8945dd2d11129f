import { SluiceError } from "../../contracts/errors.ts";
import type { EmbedOptions, SparseEncoder } from "../ports.ts";
import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { EmbedSparseReplyWire } from "./messages.ts";
import { RemoteModel } from "./remote-model.ts";
import { kindToWire, paramsToWire } from "./wire-params.ts";

/**
 * The model server's sparse encoder behind the `SparseEncoder` port. Its `id` is the server's
 * model after `warmUp()`.
 *
 * @example
 * const [weights] = await new RemoteSparseEncoder(client).encode(["resume a failed job"]);
 */
export class RemoteSparseEncoder extends RemoteModel implements SparseEncoder {
  constructor(client: GrpcModelClient) {
    super(client, "sparse", "sparse encoder");
  }

  async encode(texts: readonly string[], options: EmbedOptions = {}): Promise<Array<Record<string, number>>> {
    options.signal?.throwIfAborted();
    if (texts.length === 0) return [];
    await this.warmUp();
    const request = { texts, kind: kindToWire(options.kind), params: paramsToWire(options.params) };
    const reply = await this.client.call<EmbedSparseReplyWire>("sparse", "EmbedSparse", request, options);
    if (reply.vectors.length !== texts.length)
      throw new SluiceError(
        "MODEL_BAD_RESPONSE",
        `model server ${this.client.address} returned ${reply.vectors.length} sparse vectors for ${texts.length} texts`,
      );
    return reply.vectors.map((v) => Object.fromEntries(v.terms.map((t, i) => [t, v.weights[i] ?? 0])));
  }
}
