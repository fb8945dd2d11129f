import * as grpc from "@grpc/grpc-js";
import { SluiceError } from "../../contracts/errors.ts";
import { newTraceparent } from "../../observability/trace-context.ts";
import { activeTraceparent, parentContext, SpanKind, withSpan } from "../../observability/tracing.ts";
import type { ModelCallOptions } from "../ports.ts";
import { AdaptiveLimit } from "./adaptive-limit.ts";
import { fromServiceError } from "./grpc-status.ts";
import type { GetInfoReplyWire, ModelInfoWire } from "./messages.ts";
import { modelProto, type ModelServiceName } from "./proto.ts";
import { clientCredentials } from "./tls-credentials.ts";

export interface GrpcModelClientOptions {
  /** host:port of `sluice model-server`. */
  address: string;
  /** mTLS files; absent means plaintext (which the server only offers on loopback). */
  tls?: { ca: string; cert: string; key: string; serverName?: string };
  /** Deadline of a call that brings none. */
  timeoutMs: number;
  /** Most calls in flight; the server's RESOURCE_EXHAUSTED narrows it. */
  maxInFlight: number;
}

type UnaryMethod = (
  request: unknown,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (err: grpc.ServiceError | null, reply: unknown) => void,
) => grpc.ClientUnaryCall;

/**
 * One channel to a model server, shared by every model service on it. Each call carries the
 * caller's deadline (or `timeoutMs`), its `tenant_id` and W3C `traceparent` in metadata, is
 * cancelled on the server when the caller's signal aborts, and waits for a slot in an adaptive
 * in-flight window. Failures come back as SluiceErrors whose class decides retry and breaker
 * (`grpc-status.ts`). The channel opens on first use; nothing connects in the constructor.
 *
 * @example
 * const client = new GrpcModelClient({ address: "127.0.0.1:50051", timeoutMs: 30_000, maxInFlight: 8 });
 * const info = await client.info();
 * await client.close();
 */
export class GrpcModelClient {
  readonly address: string;
  readonly limit: AdaptiveLimit;
  readonly #options: GrpcModelClientOptions;
  #clients: Map<ModelServiceName, grpc.Client> | undefined;
  #channel: grpc.Channel | undefined;
  #info: Promise<GetInfoReplyWire> | undefined;

  constructor(options: GrpcModelClientOptions) {
    this.#options = options;
    this.address = options.address;
    this.limit = new AdaptiveLimit(options.maxInFlight);
  }

  /**
   * Opens the channel (it connects lazily): reads the TLS files now, so a missing or bad one stops
   * startup with its config field and path instead of failing the first call.
   */
  open(): void {
    this.#client("info");
  }

  #client(service: ModelServiceName): grpc.Client {
    if (!this.#clients) {
      const { credentials, options } = clientCredentials(this.#options.tls, "models.remote.tls");
      const channelOptions: grpc.ChannelOptions = {
        ...options,
        // Notice a dead server between calls, not only when a call times out.
        "grpc.keepalive_time_ms": 30_000,
        "grpc.keepalive_timeout_ms": 10_000,
        // Reconnect quickly after a model server restarts (the default backoff grows to 120 s).
        "grpc.initial_reconnect_backoff_ms": 200,
        "grpc.max_reconnect_backoff_ms": 2_000,
        "grpc.max_receive_message_length": 256 * 1024 * 1024,
        "grpc.max_send_message_length": 256 * 1024 * 1024,
      };
      this.#channel = new grpc.Channel(this.address, credentials, channelOptions);
      const proto = modelProto();
      this.#clients = new Map();
      for (const name of ["embed", "sparse", "rerank", "ocr", "info"] as const) {
        this.#clients.set(
          name,
          new proto[name](this.address, credentials, { ...channelOptions, channelOverride: this.#channel }),
        );
      }
    }
    return this.#clients.get(service)!;
  }

  /**
   * One unary call with the rules above. `method` is the proto's method name.
   *
   * @example
   * const reply = await client.call<EmbedReplyWire>("embed", "Embed", { texts: ["hello"] }, { signal });
   */
  call<Reply>(
    service: ModelServiceName,
    method: string,
    request: unknown,
    options: ModelCallOptions = {},
  ): Promise<Reply> {
    // A client span per call (tracing on), a child of the caller's active span or of its traceparent.
    const parent = parentContext(options.traceparent);
    const attributes = {
      "rpc.system": "grpc",
      "rpc.service": service,
      "rpc.method": method,
      "server.address": this.address,
      "sluice.tenant": options.tenantId ?? "default",
    };
    return withSpan(`${service}/${method}`, { kind: SpanKind.CLIENT, attributes, ...(parent ? { parent } : {}) }, () =>
      this.#call<Reply>(service, method, request, options),
    );
  }

  async #call<Reply>(
    service: ModelServiceName,
    method: string,
    request: unknown,
    options: ModelCallOptions,
  ): Promise<Reply> {
    const { signal } = options;
    signal?.throwIfAborted();
    const client = this.#client(service);
    const fn = (client as unknown as Record<string, UnaryMethod | undefined>)[method];
    if (typeof fn !== "function") throw new SluiceError("INTERNAL", `model client: ${service} has no method ${method}`);
    const release = await this.limit.acquire(signal);
    const metadata = new grpc.Metadata();
    metadata.set("tenant_id", options.tenantId ?? "default");
    // The server's span continues this call's span; without tracing, the caller's trace or a new one.
    metadata.set("traceparent", activeTraceparent() ?? options.traceparent ?? newTraceparent());
    const deadline = new Date(options.deadline ?? Date.now() + this.#options.timeoutMs);
    try {
      const reply = await new Promise<Reply>((resolve, reject) => {
        const call = fn.call(client, request, metadata, { deadline }, (err, value) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(signal?.aborted ? (signal.reason as Error) : fromServiceError(err, method, this.address));
          else resolve(value as Reply);
        });
        // The server sees the cancellation and stops the call's work (queued items are dropped).
        const onAbort = () => call.cancel();
        signal?.addEventListener("abort", onAbort, { once: true });
      });
      release("ok");
      return reply;
    } catch (err) {
      release(err instanceof SluiceError && err.code === "MODEL_OVERLOADED" ? "overloaded" : "error");
      throw err;
    }
  }

  /** What the server hosts (models, dimensions, device, residency). */
  info(options: ModelCallOptions = {}): Promise<GetInfoReplyWire> {
    return this.call<GetInfoReplyWire>("info", "GetInfo", {}, options);
  }

  /**
   * The model the server announces for one service (Info, asked once per client and shared by
   * every adapter on it; asked again after a failure). MODEL_UNAVAILABLE when the server does
   * not host that service.
   *
   * @example
   * const { model, dimensions } = await client.announced("embed", "dense embedder");
   */
  async announced(service: Exclude<ModelServiceName, "info">, what: string): Promise<ModelInfoWire> {
    this.#info ??= this.info().catch((err: unknown) => {
      this.#info = undefined;
      throw err;
    });
    const info = await this.#info;
    const model = info.models.find((m) => m.service === service);
    if (!model)
      throw new SluiceError(
        "MODEL_UNAVAILABLE",
        `model server ${this.address} serves no ${what} (services: ${info.models.map((m) => m.service).join(", ") || "none"})`,
      );
    return model;
  }

  async close(): Promise<void> {
    for (const client of this.#clients?.values() ?? []) client.close();
    this.#channel?.close();
    this.#clients = undefined;
    this.#channel = undefined;
    this.#info = undefined;
  }
}
