import { availableParallelism } from "node:os";
import type { Worker } from "node:worker_threads";
import type { EmbedderConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import { createEmbedder } from "./create-embedder.ts";
import type { EmbedderInfo, EmbedderThreadData } from "./embedder-thread-protocol.ts";
import { EmbedderWorker } from "./embedder-worker.ts";
import type { DenseEmbedder, EmbedOptions } from "./ports.ts";

export interface ThreadedEmbedderOptions {
  /** The embedder each thread builds with `createEmbedder`. */
  config: EmbedderConfig;
  /** The data folder: the `static` embedder opens its word cache there, once per thread. */
  dataDir?: string;
  /** Worker threads in the pool (a positive integer). */
  threads: number;
}

/**
 * The thread count `models.threads` means: `auto` is one fewer than the machine's cores (the
 * event loop keeps one), at least 1; a number is itself (0: no threads).
 *
 * @example
 * resolveModelThreads("auto"); // 7 on an 8-core machine
 */
export function resolveModelThreads(setting: number | "auto"): number {
  return setting === "auto" ? Math.max(1, availableParallelism() - 1) : setting;
}

/**
 * Model calls an embedder can take at once: a pool's thread count, else 1. The micro-batcher and
 * the model server's queue send this many batches in parallel, so each thread gets one.
 *
 * @example
 * new MicroBatcher(embedder, { concurrency: embedConcurrency(embedder) });
 */
export function embedConcurrency(embedder: DenseEmbedder): number {
  return embedder instanceof ThreadedEmbedder ? embedder.threads : 1;
}

/**
 * An in-process embedder run off the event loop: a pool of `threads` worker threads, each
 * building the configured embedder with `createEmbedder` (so a `static` embedder opens its SQLite
 * word cache in every thread; writes there are `INSERT OR IGNORE` in WAL mode with a busy
 * timeout). Each call goes to the thread with the fewest texts pending, and its vectors come back
 * in one transferred buffer. `id`, `dimensions` and `languages` are the inner embedder's: before
 * the first warmUp they come from an unwarmed instance built here (which loads nothing), after it
 * from the warm thread. `warmUp()` warms the first thread alone, then the others: on a fresh data
 * folder the first computes what the others then read.
 *
 * A call's `signal` rejects it at once on abort (the thread stops between its model batches and
 * its reply is dropped). A thread that exits or throws rejects its pending calls with
 * MODEL_UNAVAILABLE naming what happened; the next call starts a fresh thread there. Errors thrown
 * in a thread come back with their code (SluiceError) or name and message. `close()` refuses new
 * calls (MODEL_UNAVAILABLE "embedder is closed"), lets pending ones settle, then closes every
 * thread's embedder and terminates the threads; a later `warmUp()` starts them again. Idle
 * threads never hold the process open.
 *
 * @example
 * const embedder = new ThreadedEmbedder({ config: config.embedder, dataDir, threads: 3 });
 * await embedder.warmUp();
 * const vectors = await embedder.embed(chunks.map((c) => c.text), { kind: "passage" });
 * await embedder.close();
 */
export class ThreadedEmbedder implements DenseEmbedder {
  readonly threads: number;
  readonly #data: EmbedderThreadData;
  /** Answers id, dimensions and languages until a thread has warmed up. */
  readonly #unwarmed: DenseEmbedder;
  #info: EmbedderInfo | undefined;
  #workers: Array<EmbedderWorker | undefined> = [];
  #opening: Promise<void> | undefined;
  #closed = false;
  #closing: Promise<void> | undefined;
  readonly #calls = new Set<Promise<unknown>>();

  constructor(options: ThreadedEmbedderOptions) {
    if (!Number.isInteger(options.threads) || options.threads < 1)
      throw new RangeError(`ThreadedEmbedder threads must be a positive integer, got ${options.threads}`);
    this.threads = options.threads;
    this.#data = { config: options.config, ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }) };
    this.#unwarmed = createEmbedder(options.config);
  }

  get id(): string {
    return this.#info?.id ?? this.#unwarmed.id;
  }

  get dimensions(): number {
    return this.#info?.dimensions ?? this.#unwarmed.dimensions;
  }

  get languages(): readonly string[] | undefined {
    return this.#info ? this.#info.languages : this.#unwarmed.languages;
  }

  /** The Worker of each running thread (tests terminate one to play a crash). */
  get workers(): readonly Worker[] {
    return this.#workers.filter((w) => w?.alive).map((w) => w!.worker);
  }

  async warmUp(): Promise<void> {
    await this.#closing;
    this.#closed = false;
    await this.#open();
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    options.signal?.throwIfAborted();
    if (this.#closed) throw new SluiceError("MODEL_UNAVAILABLE", "embedder is closed");
    if (texts.length === 0) return [];
    const call = this.#opened(options.signal).then(() => this.#leastBusy().embed(texts, options));
    this.#calls.add(call);
    try {
      return await call;
    } finally {
      this.#calls.delete(call);
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#closing ??= this.#shutDown().finally(() => (this.#closing = undefined));
    await this.#closing;
  }

  async #shutDown(): Promise<void> {
    await this.#opening?.catch(() => undefined);
    await Promise.allSettled(this.#calls);
    const workers = this.#workers;
    this.#workers = [];
    this.#opening = undefined;
    await Promise.all(workers.flatMap((w) => (w ? [w.close()] : [])));
  }

  /** `#open()`, or the signal's reason at once when it aborts first. */
  async #opened(signal: AbortSignal | undefined): Promise<void> {
    if (signal === undefined) return this.#open();
    let onAbort = (): void => undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.#open(), aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }

  #open(): Promise<void> {
    this.#opening ??= this.#start().catch((err: unknown) => {
      this.#opening = undefined;
      throw err;
    });
    return this.#opening;
  }

  async #start(): Promise<void> {
    this.#info = await this.#worker(0).warmUp();
    await Promise.all(Array.from({ length: this.threads - 1 }, (_, i) => this.#worker(i + 1).warmUp()));
  }

  /** The thread in slot `i`, started afresh when there is none or it died. */
  #worker(i: number): EmbedderWorker {
    let worker = this.#workers[i];
    if (worker?.alive !== true) {
      worker = new EmbedderWorker(this.#data);
      this.#workers[i] = worker;
    }
    return worker;
  }

  /** The running thread with the fewest texts pending; an empty or dead slot counts as half a text. */
  #leastBusy(): EmbedderWorker {
    let best = 0;
    let bestLoad = Infinity;
    for (let i = 0; i < this.threads; i++) {
      const worker = this.#workers[i];
      const load = worker?.alive === true ? worker.load : 0.5;
      if (load < bestLoad) [best, bestLoad] = [i, load];
    }
    return this.#worker(best);
  }
}
