/**
 * Entry of one `ReaderPool` thread (never imported by the main thread): opens the index file with
 * a connection of its own and answers `ReadRequest`s, retrieval and extractive answer, one reply
 * each. SQLite reads run here, so a slow query holds up neither the HTTP loop nor the other
 * readers; WAL lets them read while ingest writes.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { errorToWire } from "../../contracts/error-wire.ts";
import type { DenseEmbedder } from "../../models/ports.ts";
import { SqliteIndexStore } from "../../store/sqlite/sqlite-index-store.ts";
import { ExtractiveAnswerer } from "../answer/extractive-answerer.ts";
import { Retriever } from "../retriever.ts";
import type { ReadReply, ReaderThreadData, ReadRequest } from "./reader-thread-protocol.ts";

function threadPort(): MessagePort {
  if (parentPort === null) throw new Error("reader-thread.ts runs as a worker thread only (see ReaderPool)");
  return parentPort;
}

/** The main thread's query embedder, as far as retrieval needs it: the vector came with the request. */
class ProvidedVector implements DenseEmbedder {
  readonly id: string;
  readonly dimensions: number;
  readonly languages?: readonly string[];
  readonly #vector: Float32Array | undefined;

  constructor(request: ReadRequest) {
    this.id = request.embedder.id;
    this.dimensions = request.embedder.dimensions;
    if (request.embedder.languages) this.languages = request.embedder.languages;
    this.#vector = request.vector;
  }

  warmUp(): Promise<void> {
    return Promise.resolve();
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (this.#vector === undefined || texts.length !== 1)
      return Promise.reject(new Error("a reader thread embeds nothing: the query's vector comes with the request"));
    return Promise.resolve([this.#vector]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}

const port = threadPort();
const data = workerData as ReaderThreadData;
const store = new SqliteIndexStore(data.indexPath);
const opened = store.open();
const answerer = new ExtractiveAnswerer({ sentences: data.sentences });

async function read(request: ReadRequest): Promise<void> {
  try {
    await opened;
    const embedder = new ProvidedVector(request);
    const retriever = new Retriever(store, () => embedder, data.retrieval);
    const hits = await retriever.retrieve(request.collection, request.query, { mode: request.mode, k: request.k });
    const answer = request.answer ? await answerer.answer(request.query, hits) : undefined;
    reply({ id: request.id, ok: true, hits, ...(answer ? { answer } : {}) });
  } catch (err) {
    reply({ id: request.id, ok: false, error: errorToWire(err) });
  }
}

function reply(message: ReadReply): void {
  port.postMessage(message);
}

port.on("message", (message: ReadRequest | { type: "close" }) => {
  if ("type" in message) {
    void opened.then(() => store.close()).finally(() => port.close());
    return;
  }
  void read(message);
});
