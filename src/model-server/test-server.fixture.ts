import { Writable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { pino, type Logger } from "pino";
import { parseConfig } from "../config/load-config.ts";
import { SluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import { InProcessModels } from "../models/in-process-models.ts";
import type { DenseEmbedder, EmbedOptions, OcrEngine } from "../models/ports.ts";
import { ManualDeviceMonitor } from "../models/residency/manual-device-monitor.ts";
import { ModelServer } from "./model-server.ts";

/**
 * A hash embedder tests can steer: a delay per backend call (abortable, as a real model checks its
 * signal between batches), failures to inject, a warm-up gate, and counts of what reached it.
 *
 * @example
 * const embedder = new ControlledEmbedder({ delayMs: 20 });
 * embedder.failNext(3, () => new SluiceError("MODEL_UNAVAILABLE", "down"));
 */
export class ControlledEmbedder implements DenseEmbedder {
  readonly inner: HashEmbedder;
  readonly languages = undefined;
  delayMs: number;
  /** Texts embedded to the end (aborted batches not counted). */
  texts = 0;
  calls = 0;
  aborted = 0;
  /** Backend calls running now (past any injected failure). */
  active = 0;
  /** Options of every backend call, newest last. */
  readonly seen: EmbedOptions[] = [];
  #failures: Array<() => Error> = [];
  #warmUpGate: Promise<void> | undefined;
  #warmUpError: Error | undefined;

  constructor(options: { delayMs?: number; dimensions?: number } = {}) {
    this.inner = new HashEmbedder({ dimensions: options.dimensions ?? 32 });
    this.delayMs = options.delayMs ?? 0;
  }

  get id(): string {
    return this.inner.id;
  }

  get dimensions(): number {
    return this.inner.dimensions;
  }

  /** The next `n` backend calls throw what `make` builds. */
  failNext(n: number, make: () => Error): void {
    for (let i = 0; i < n; i++) this.#failures.push(make);
  }

  /** Holds warmUp() until `gate` resolves; with `error`, warmUp() then throws it. */
  holdWarmUp(gate: Promise<void>, error?: Error): void {
    this.#warmUpGate = gate;
    this.#warmUpError = error;
  }

  async warmUp(): Promise<void> {
    if (this.#warmUpGate) await this.#warmUpGate;
    if (this.#warmUpError) {
      const err = this.#warmUpError;
      this.#warmUpError = undefined;
      throw err;
    }
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    this.calls++;
    this.seen.push(options);
    const failure = this.#failures.shift();
    if (failure) throw failure();
    this.active++;
    try {
      if (this.delayMs > 0) {
        try {
          await sleep(this.delayMs, undefined, options.signal ? { signal: options.signal } : {});
        } catch (err) {
          this.aborted++;
          throw err;
        }
      }
      const vectors = await this.inner.embed(texts, options);
      this.texts += texts.length;
      return vectors;
    } finally {
      this.active--;
    }
  }

  async close(): Promise<void> {}
}

export interface TestModelServer {
  server: ModelServer;
  embedder: ControlledEmbedder;
  monitor: ManualDeviceMonitor;
  /** Every log line the server wrote, parsed. */
  logs: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

/**
 * An in-process `ModelServer` on 127.0.0.1:0 over a ControlledEmbedder, the analyzer's sparse
 * weights and (when asked) tesseract OCR; the device monitor reports no GPU unless the test sets one.
 *
 * @example
 * const t = await startTestModelServer({ modelServer: { services: ["embed"] } });
 * const models = new GrpcModels({ address: t.server.address, timeoutMs: 5000, maxInFlight: 8 });
 */
export async function startTestModelServer(
  config: Record<string, unknown> = {},
  options: { embedder?: ControlledEmbedder; ocr?: OcrEngine; waitReady?: boolean; listen?: string } = {},
): Promise<TestModelServer> {
  const parsed = parseConfig({ modelServer: { services: ["embed", "sparse", "rerank"] }, ...config }, "test config");
  const embedder = options.embedder ?? new ControlledEmbedder();
  const monitor = new ManualDeviceMonitor();
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line) logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const logger: Logger = pino({ level: "debug" }, sink);
  const models = new InProcessModels({
    embedder: parsed.embedder,
    overrides: { embedder, ...(options.ocr ? { ocr: options.ocr } : {}) },
  });
  const server = await ModelServer.start({
    config: parsed,
    listen: options.listen ?? "127.0.0.1:0",
    models,
    monitor,
    logger,
  });
  if (options.waitReady ?? true) await server.ready();
  return { server, embedder, monitor, logs, close: () => server.close(500) };
}

/** Thrown by tests that need one kind of transient model failure. */
export function unavailable(): SluiceError {
  return new SluiceError("MODEL_UNAVAILABLE", "test: the model is down");
}
