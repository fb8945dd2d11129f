import type { GrpcModelClient } from "./grpc-model-client.ts";
import type { ModelServiceName } from "./proto.ts";

/**
 * The id a remote model answers before `warmUp()` has asked the server which model it serves:
 * the service and the configured address, e.g. `remote:127.0.0.1:50051/embed`. It names where the
 * model is, not which model, so it never equals a model id a collection stores: every place that
 * stores or compares ids (the embed and sparse stages, after their call; the retriever, after its
 * own `warmUp()`) reads the id after the model announced itself.
 *
 * @example
 * unannouncedId("127.0.0.1:50051", "embed"); // "remote:127.0.0.1:50051/embed"
 */
export function unannouncedId(address: string, service: ModelServiceName): string {
  return `remote:${address}/${service}`;
}

/**
 * Whether `id` is an `unannouncedId` (a remote model not warmed up yet) rather than a model's id.
 *
 * @example
 * const model = isUnannouncedId(embedder.id) ? undefined : embedder.id;
 */
export function isUnannouncedId(id: string): boolean {
  return /^remote:.+\/(embed|sparse|rerank|ocr)$/.test(id);
}

/**
 * What the thin remote adapters share: the client, the server's model id learnt in `warmUp()`,
 * and a `close()` that leaves the channel to its owner (`GrpcModels`).
 *
 * @example
 * class RemoteOcr extends RemoteModel implements OcrEngine {
 *   constructor(c: GrpcModelClient) {
 *     super(c, "ocr", "OCR");
 *   }
 *   …
 * }
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

  /** The server's model id after `warmUp()` (or the first call); before it, `unannouncedId` (no network call). */
  get id(): string {
    return this.#model ?? unannouncedId(this.client.address, this.#service);
  }

  async warmUp(): Promise<void> {
    this.#model ??= (await this.client.announced(this.#service, this.#what)).model;
  }

  async close(): Promise<void> {
    // The channel belongs to the GrpcModelClient, which its owner closes.
  }
}
