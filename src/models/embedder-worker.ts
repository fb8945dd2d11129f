import type { Worker } from "node:worker_threads";
import { errorFromWire } from "../contracts/error-wire.ts";
import { SluiceError } from "../contracts/errors.ts";
import { startThread } from "../threads/start-thread.ts";
import {
  type EmbedderInfo,
  type EmbedderThreadData,
  type FromThread,
  type ToThread,
  unpackVectors,
} from "./embedder-thread-protocol.ts";
import type { EmbedOptions } from "./ports.ts";

/** How long `close()` lets the thread close its embedder before it is terminated anyway. */
const CLOSE_GRACE_MS = 5_000;

/** `ToThread` without the id, which `#call` assigns; spelled out so the union stays a union. */
type Request =
  | { type: "warmUp" }
  | { type: "embed"; texts: readonly string[]; kind?: EmbedOptions["kind"]; params?: EmbedOptions["params"] }
  | { type: "close" };

interface Pending {
  weight: number;
  resolve: (reply: FromThread) => void;
  reject: (err: Error) => void;
}

/**
 * One worker thread running an embedder, seen from the main thread: requests with ids, replies
 * matched to them, and what happens when the thread dies. A thread that exits or throws rejects
 * every pending call with MODEL_UNAVAILABLE naming what happened, and stays dead (`alive` false):
 * its owner starts another. The thread holds the process open only while a call is pending.
 *
 * @example
 * const thread = new EmbedderWorker({ config: { backend: "hash", dimensions: 256, batchSize: 256 } });
 * const info = await thread.warmUp(); // { id: "hash-256", dimensions: 256 }
 * const vectors = await thread.embed(["hello"], {});
 * await thread.close();
 */
export class EmbedderWorker {
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #weight = 0;
  /** Why the thread is gone; undefined while it runs. */
  #dead: SluiceError | undefined;
  #closing = false;

  constructor(data: EmbedderThreadData) {
    this.#worker = startThread(import.meta.url, "embedder-thread", data);
    this.#worker.unref();
    this.#worker.on("message", (reply: FromThread) => this.#settle(reply));
    this.#worker.on("error", (err: unknown) =>
      this.#die(`embedder thread failed: ${err instanceof Error ? err.message : String(err)}`),
    );
    this.#worker.on("messageerror", (err: Error) =>
      this.#die(`embedder thread sent an unreadable reply: ${err.message}`),
    );
    this.#worker.on("exit", (code) =>
      this.#die(this.#closing ? "embedder is closed" : `embedder thread exited unexpectedly with code ${code}`),
    );
  }

  /** False once the thread has exited, failed or been closed. */
  get alive(): boolean {
    return this.#dead === undefined && !this.#closing;
  }

  /** Texts (plus one per call) the thread has yet to answer: what "least busy" compares. */
  get load(): number {
    return this.#weight;
  }

  /** The Worker itself (tests terminate it to play a crash). */
  get worker(): Worker {
    return this.#worker;
  }

  async warmUp(): Promise<EmbedderInfo> {
    const reply = await this.#call({ type: "warmUp" }, 1);
    if (!("info" in reply)) throw new SluiceError("MODEL_BAD_RESPONSE", "embedder thread answered warmUp without info");
    return reply.info;
  }

  async embed(texts: readonly string[], options: EmbedOptions): Promise<Float32Array[]> {
    const reply = await this.#call(
      {
        type: "embed",
        texts,
        ...(options.kind === undefined ? {} : { kind: options.kind }),
        ...(options.params === undefined ? {} : { params: options.params }),
      },
      texts.length + 1,
      options.signal,
    );
    if (!("vectors" in reply))
      throw new SluiceError("MODEL_BAD_RESPONSE", "embedder thread answered embed without vectors");
    return unpackVectors(reply.vectors, reply.count, reply.dimensions);
  }

  /** Lets the thread close its embedder (SQLite, model), then terminates it. Pending calls should be settled first. */
  async close(): Promise<void> {
    if (this.#dead !== undefined || this.#closing) return;
    const closed = this.#call({ type: "close" }, 0).catch(() => undefined);
    this.#closing = true;
    let timer: NodeJS.Timeout | undefined;
    const grace = new Promise<void>((resolve) => (timer = setTimeout(resolve, CLOSE_GRACE_MS)));
    await Promise.race([closed, grace]);
    clearTimeout(timer);
    await this.#worker.terminate();
  }

  #call(request: Request, weight: number, signal?: AbortSignal): Promise<FromThread> {
    signal?.throwIfAborted();
    if (this.#dead) return Promise.reject(this.#dead);
    if (this.#closing) return Promise.reject(new SluiceError("MODEL_UNAVAILABLE", "embedder is closed"));
    const id = this.#nextId++;
    return new Promise<FromThread>((resolve, reject) => {
      const onAbort = (): void => {
        if (!this.#forget(id)) return;
        reject(signal?.reason as Error);
        // The thread stops between model batches; whatever it still sends for this id is dropped.
        this.#post({ type: "abort", id });
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const detach = (): void => signal?.removeEventListener("abort", onAbort);
      this.#pending.set(id, {
        weight,
        resolve: (reply) => (detach(), resolve(reply)),
        reject: (err) => (detach(), reject(err)),
      });
      this.#weight += weight;
      if (this.#pending.size === 1) this.#worker.ref();
      this.#post({ ...request, id });
    });
  }

  #post(message: ToThread): void {
    try {
      this.#worker.postMessage(message);
    } catch (err) {
      // Texts that cannot be cloned, or a thread already gone: fail this call alone.
      const pending = this.#pending.get(message.id);
      if (pending && this.#forget(message.id)) pending.reject(err as Error);
    }
  }

  /** Drops a pending call; false when it had already gone. */
  #forget(id: number): boolean {
    const pending = this.#pending.get(id);
    if (pending === undefined) return false;
    this.#pending.delete(id);
    this.#weight -= pending.weight;
    if (this.#pending.size === 0) this.#worker.unref();
    return true;
  }

  #settle(reply: FromThread): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined || !this.#forget(reply.id)) return;
    if (reply.ok) pending.resolve(reply);
    else pending.reject(errorFromWire(reply.error));
  }

  #die(why: string): void {
    this.#dead ??= new SluiceError("MODEL_UNAVAILABLE", why);
    for (const [id, pending] of [...this.#pending]) {
      this.#forget(id);
      pending.reject(this.#dead);
    }
  }
}
