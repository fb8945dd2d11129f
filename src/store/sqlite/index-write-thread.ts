import type { Worker } from "node:worker_threads";
import { errorFromWire, type ErrorWire } from "../../contracts/error-wire.ts";
import { SluiceError } from "../../contracts/errors.ts";
import type { IndexResult } from "../../contracts/index.ts";
import { startThread } from "../../threads/start-thread.ts";
import type { IndexWrite } from "./index-writes.ts";

export type WriteRequest = { id: number; type: "write"; batch: IndexWrite[] } | { id: number; type: "close" };
export type WriteReply =
  | {
      id: number;
      type: "written";
      results: Array<{ ok: true; result: IndexResult } | { ok: false; error: ErrorWire }>;
    }
  | { id: number; type: "failed"; error: ErrorWire }
  | { id: number; type: "closed" };

interface Pending {
  resolve: (reply: WriteReply) => void;
  reject: (err: Error) => void;
}

/**
 * A worker thread that writes the SQLite index on a connection of its own, so the transaction,
 * the FTS5 and vector inserts and the commit leave the event loop. Batches are written in the
 * order sent. A thread that dies fails the batches it had (STORE_UNAVAILABLE, retryable: nothing
 * of an unanswered batch is assumed written, and a rewrite of a written document is "unchanged")
 * and the next batch starts a fresh one. The thread holds the process open only while a batch is
 * out.
 *
 * @example
 * const thread = new IndexWriteThread(join(dataDir, "index.db"));
 * const [result] = await thread.write([{ collection: "docs", input }]);
 * await thread.close();
 */
export class IndexWriteThread {
  readonly #path: string;
  #worker: Worker | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;

  constructor(path: string) {
    this.#path = path;
  }

  /** Each document's result, or the error that stopped it; rejects when the batch as a whole failed. */
  async write(batch: IndexWrite[]): Promise<Array<IndexResult | Error>> {
    const reply = await this.#call({ type: "write", batch });
    if (reply.type === "failed") throw errorFromWire(reply.error);
    if (reply.type !== "written")
      throw new SluiceError("STORE_UNAVAILABLE", "index writer thread answered out of turn");
    return reply.results.map((r) => (r.ok ? r.result : errorFromWire(r.error)));
  }

  /** Waits for the batches out, lets the thread close its connection, and ends it. */
  async close(): Promise<void> {
    const worker = this.#worker;
    if (!worker) return;
    await this.#call({ type: "close" }).catch(() => undefined);
    this.#worker = undefined;
    await worker.terminate();
  }

  #start(): Worker {
    const worker = startThread(import.meta.url, "index-write-thread-entry", { path: this.#path });
    worker.unref();
    worker.on("message", (reply: WriteReply) => {
      const pending = this.#pending.get(reply.id);
      if (!pending) return;
      this.#pending.delete(reply.id);
      if (this.#pending.size === 0) worker.unref();
      pending.resolve(reply);
    });
    const die = (why: string) => {
      if (this.#worker !== worker) return;
      this.#worker = undefined;
      const err = new SluiceError("STORE_UNAVAILABLE", why);
      for (const pending of this.#pending.values()) pending.reject(err);
      this.#pending.clear();
    };
    worker.on("error", (err: Error) => die(`index writer thread failed: ${err.message}`));
    worker.on("exit", (code) => die(`index writer thread exited with code ${code}`));
    return worker;
  }

  #call(request: Omit<WriteRequest, "id"> & { batch?: IndexWrite[] }): Promise<WriteReply> {
    const worker = (this.#worker ??= this.#start());
    const id = this.#nextId++;
    return new Promise<WriteReply>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      if (this.#pending.size === 1) worker.ref();
      try {
        worker.postMessage({ ...request, id });
      } catch (err) {
        this.#pending.delete(id);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }
}
