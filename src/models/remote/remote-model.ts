import { SluiceError } from "../../contracts/errors.ts";
import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { ModelServiceName } from "./proto.ts";

/**
 * What the thin remote adapters share: the client, the server's model id learnt in `warmUp()`,
 * and a `close()` that leaves the channel to its owner (`GrpcModels`).
 *
 * @example
 * class RemoteOcr extends RemoteModel implements OcrEngine { constructor(c: GrpcModelClient) { super(c, "ocr", "OCR"); } … }
 */
export abstract class RemoteModel {
  protected readonly client: GrpcModelClient;
  readonly #service: Exclude<ModelServiceName, "info" | "embed">;
  readonly #what: string;
  #model: string | undefined;

  protected constructor(client: GrpcModelClient, service: Exclude<ModelServiceName, "info" | "embed">, what: string) {
    this.client = client;
    this.#service = service;
    this.#what = what;
  }

  /** The server's model id; known after `warmUp()`. */
  get id(): string {
    if (!this.#model) throw new SluiceError("INTERNAL", `remote ${this.#what} at ${this.client.address}: call warmUp() before reading its model`);
    return this.#model;
  }

  async warmUp(): Promise<void> {
    this.#model ??= (await this.client.announced(this.#service, this.#what)).model;
  }

  async close(): Promise<void> {
    // The channel belongs to the GrpcModelClient, which its owner closes.
  }
}
