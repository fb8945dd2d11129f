import { HTTP, type CloudEvent } from "cloudevents";
import { SluiceError } from "../contracts/errors.ts";
import { DeliveryQueue, type DeliveryStats } from "./delivery-queue.ts";
import type { EventSink } from "./cloudevents.ts";

export interface HttpEventSinkOptions {
  url: string;
  /**
   * `binary`: attributes in `ce-*` headers, data as the body; `structured`: the whole event as
   * `application/cloudevents+json`.
   */
  mode: "binary" | "structured";
  /** Header name → the name of the environment variable that holds its value (never the value itself). */
  headers?: Record<string, string>;
  timeoutMs?: number;
  /** Events waiting at most; past it the oldest is dropped and counted. */
  maxQueue?: number;
  /** How long `close()` waits for the queue to empty. */
  flushTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

/**
 * POSTs every event to an HTTP endpoint with the CloudEvents HTTP protocol binding (the
 * `cloudevents` package's `HTTP.binary` / `HTTP.structured` messages), one request per event,
 * nothing batched. Delivery runs behind a bounded queue (see `DeliveryQueue`): a slow or dead
 * endpoint never blocks or fails a pipeline, it only drops the oldest waiting events and counts
 * them; failed requests (non-2xx, timeouts, refused connections) are counted and logged.
 *
 * @example
 * const sink = new HttpEventSink({ url: "https://events.example/ingest", mode: "binary", headers: { authorization: "SLUICE_EVENTS_AUTH" } });
 * stream.addSink(sink);
 */
export class HttpEventSink implements EventSink {
  readonly name = "events.http";
  readonly #url: string;
  readonly #mode: "binary" | "structured";
  readonly #headerEnv: Record<string, string>;
  readonly #env: NodeJS.ProcessEnv;
  readonly #log: (line: string) => void;
  #headers: Record<string, string> | null = null;
  readonly #timeoutMs: number;
  readonly #flushTimeoutMs: number;
  readonly #queue: DeliveryQueue<CloudEvent<Record<string, unknown>>>;

  constructor(options: HttpEventSinkOptions) {
    this.#url = options.url;
    this.#mode = options.mode;
    this.#timeoutMs = options.timeoutMs ?? 5_000;
    this.#flushTimeoutMs = options.flushTimeoutMs ?? 5_000;
    this.#headerEnv = options.headers ?? {};
    this.#env = options.env ?? process.env;
    this.#log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
    this.#queue = new DeliveryQueue({
      name: this.name,
      maxQueue: options.maxQueue ?? 10_000,
      send: (ce, signal) => this.#post(ce, signal),
      log: this.#log,
    });
  }

  deliver(event: CloudEvent<Record<string, unknown>>): void {
    this.#queue.push(event);
  }

  stats(): DeliveryStats {
    return this.#queue.stats();
  }

  close(): Promise<void> {
    return this.#queue.close(this.#flushTimeoutMs);
  }

  /** Read from the environment at the first delivery (a process that never sends says nothing). */
  #configuredHeaders(): Record<string, string> {
    if (this.#headers) return this.#headers;
    this.#headers = {};
    for (const [header, variable] of Object.entries(this.#headerEnv)) {
      const value = this.#env[variable];
      if (value === undefined)
        this.#log(
          `sluice: events.http: header "${header}" comes from environment variable ${variable}, which is not set; sending without it`,
        );
      else this.#headers[header.toLowerCase()] = value;
    }
    return this.#headers;
  }

  async #post(event: CloudEvent<Record<string, unknown>>, signal: AbortSignal): Promise<void> {
    const message = this.#mode === "binary" ? HTTP.binary(event) : HTTP.structured(event);
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(message.headers))
      if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
    const body = typeof message.body === "string" ? message.body : JSON.stringify(message.body);
    const res = await fetch(this.#url, {
      method: "POST",
      headers: { ...headers, ...this.#configuredHeaders() },
      body,
      signal: AbortSignal.any([signal, AbortSignal.timeout(this.#timeoutMs)]),
    });
    // Read the body so the connection goes back to the pool.
    await res.arrayBuffer().catch(() => undefined);
    if (!res.ok)
      throw new SluiceError("EVENT_DELIVERY_FAILED", `POST ${this.#url} answered ${res.status} ${res.statusText}`, {
        details: { status: res.status },
      });
  }
}
