import { availableParallelism } from "node:os";
import { MessageChannel, type Worker } from "node:worker_threads";
import { errorFromWire, errorToWire } from "../../contracts/error-wire.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { startThread } from "../../threads/start-thread.ts";
import type { Reranker } from "../../models/ports.ts";
import type { SegmentStats } from "../../store/segments/build-segments.ts";
import type { QueryRun } from "../run-query.ts";
import type {
  BuilderMessage,
  BuilderThreadData,
  BuiltMessage,
  HostReply,
  HostRequest,
  ReadReply,
  ReaderThreadData,
  ReadRequest,
} from "./reader-thread-protocol.ts";

interface Reader {
  worker: Worker;
  pending: Map<number, { resolve: (r: QueryRun) => void; reject: (e: Error) => void }>;
}

/**
 * Reader threads for `retrieval.readerThreads`: `auto` is one per core.
 *
 * @example
 * resolveReaderThreads("auto"); // 2 on a 2-core machine
 */
export function resolveReaderThreads(setting: number | "auto"): number {
  return setting === "auto" ? Math.max(1, availableParallelism()) : setting;
}

/** What a pool is told and asked by its threads. */
export interface ReaderPoolOptions {
  /** Told each time the builder thread finishes a collection's segments. */
  onSegmentsBuilt?: (collection: string, stats: SegmentStats) => void;
  /** The reranker query pipelines in the threads call (it lives on this thread). */
  reranker?: () => Reranker;
}

/**
 * A pool of reader threads, each with its own connection to the index file: queries run through
 * their query pipeline there (retrieval, fusion, the extractive answer; the reranker is called
 * back on this thread), so the HTTP loop only parses, dispatches and serialises, and with two
 * cores two queries run at once. A request goes to the thread with the fewest in flight. A
 * thread that dies fails its requests in flight and is replaced on the next. With
 * `retrieval.segments`, one more thread builds each collection's search segments once for all
 * readers (they share its arrays), so a build never holds up a query.
 *
 * @example
 * const readers = new ReaderPool({ indexPath, config }, 2);
 * const { results } = await readers.read({ pipeline: { version, yaml }, query });
 * await readers.close();
 */
export class ReaderPool {
  readonly size: number;
  readonly #data: ReaderThreadData;
  readonly #readers: Array<Reader | null>;
  #builder: Worker | null = null;
  #next = 0;
  #closed = false;

  readonly #options: ReaderPoolOptions;

  constructor(data: ReaderThreadData, size: number, options: ReaderPoolOptions = {}) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`reader threads must be at least 1, got ${size}`);
    this.#data = data;
    this.#options = options;
    this.size = size;
    this.#readers = Array.from({ length: size }, () => null);
  }

  /** Starts every thread now (each builds its search segments) rather than at the first reads. */
  start(): void {
    if (this.#closed) return;
    for (let i = 0; i < this.size; i++) this.#readers[i] ??= this.#start(i);
  }

  read(request: Omit<ReadRequest, "id">): Promise<QueryRun> {
    if (this.#closed) return Promise.reject(new SluiceError("STORE_UNAVAILABLE", "the reader threads are closed"));
    const reader = this.#least();
    const id = ++this.#next;
    return new Promise<QueryRun>((resolve, reject) => {
      // Held while it has work: an idle pool does not keep the process alive.
      if (reader.pending.size === 0) reader.worker.ref();
      reader.pending.set(id, { resolve, reject });
      reader.worker.postMessage({ ...request, id } satisfies ReadRequest);
    });
  }

  async close(): Promise<void> {
    this.#closed = true;
    const builder = this.#builder;
    this.#builder = null;
    if (builder) {
      const exited = new Promise<void>((resolve) => builder.once("exit", () => resolve()));
      builder.postMessage({ type: "close" } satisfies BuilderMessage);
      const timer = setTimeout(() => void builder.terminate(), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await Promise.all(
      this.#readers.map(async (reader, i) => {
        if (!reader) return;
        this.#readers[i] = null;
        const exited = new Promise<void>((resolve) => reader.worker.once("exit", () => resolve()));
        reader.worker.postMessage({ type: "close" });
        const timer = setTimeout(() => void reader.worker.terminate(), 5_000);
        await exited;
        clearTimeout(timer);
      }),
    );
  }

  /** The live reader with the fewest requests in flight, started if need be. */
  #least(): Reader {
    let best = -1;
    for (let i = 0; i < this.size; i++) {
      const reader = this.#readers[i];
      if (!reader) {
        this.#readers[i] = this.#start(i);
        return this.#readers[i]!;
      }
      if (best < 0 || reader.pending.size < this.#readers[best]!.pending.size) best = i;
    }
    return this.#readers[best]!;
  }

  /** The builder thread, started with the first reader (null without segments). */
  #builderThread(): Worker | null {
    if (!this.#data.config.retrieval.segments.enabled) return null;
    if (!this.#builder) {
      const { indexPath, config } = this.#data;
      const data: BuilderThreadData = { indexPath, ann: config.retrieval.segments.ann };
      const builder = startThread(import.meta.url, "segment-builder-thread", data);
      builder.on("error", () => undefined); // its readers see the port close and query SQLite
      builder.on("message", (m: BuiltMessage) => this.#options.onSegmentsBuilt?.(m.collection, m.stats));
      builder.on("exit", () => {
        if (this.#builder === builder) this.#builder = null;
      });
      builder.unref();
      this.#builder = builder;
    }
    return this.#builder;
  }

  #start(slot: number): Reader {
    const builder = this.#builderThread();
    let worker: Worker;
    if (builder) {
      const { port1, port2 } = new MessageChannel();
      builder.postMessage({ type: "connect", port: port2 } satisfies BuilderMessage, [port2]);
      worker = startThread(import.meta.url, "reader-thread", { ...this.#data, builder: port1 }, [port1]);
    } else worker = startThread(import.meta.url, "reader-thread", this.#data);
    const reader: Reader = { worker, pending: new Map() };
    worker.on("message", (message: ReadReply | HostRequest) => {
      if ("type" in message) {
        void this.#answerHost(worker, message);
        return;
      }
      const waiting = reader.pending.get(message.id);
      if (!waiting) return;
      reader.pending.delete(message.id);
      if (reader.pending.size === 0) reader.worker.unref();
      if (message.ok) waiting.resolve(message.run);
      else waiting.reject(errorFromWire(message.error));
    });
    const fail = (error: Error) => {
      if (this.#readers[slot] === reader) this.#readers[slot] = null;
      for (const { reject } of reader.pending.values()) reject(error);
      reader.pending.clear();
    };
    worker.on("error", (err) => fail(new SluiceError("STAGE_FAILED", `a reader thread failed: ${err.message}`)));
    worker.on("exit", (code) => fail(new SluiceError("STAGE_FAILED", `a reader thread exited (${code})`)));
    worker.unref();
    return reader;
  }

  /** A thread's call to what lives here (the reranker); the answer goes back to that thread. */
  async #answerHost(worker: Worker, request: HostRequest): Promise<void> {
    let reply: HostReply;
    try {
      const make = this.#options.reranker;
      if (!make) throw new SluiceError("STAGE_FAILED", "this reader pool has no reranker to call");
      const reranker = make();
      await reranker.warmUp();
      const scores = await reranker.rerank(request.query, request.passages);
      reply = { type: "host-reply", id: request.id, ok: true, scores, reranker: reranker.id };
    } catch (err) {
      reply = { type: "host-reply", id: request.id, ok: false, error: errorToWire(err) };
    }
    worker.postMessage(reply);
  }
}
