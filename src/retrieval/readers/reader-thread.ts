/**
 * Entry of one `ReaderPool` thread (never imported by the main thread): opens the index file with
 * a connection of its own, with search segments in front (`retrieval.segments`), and answers
 * `ReadRequest`s, retrieval and extractive answer, one reply each. Reads run here, so a slow
 * query holds up neither the HTTP loop nor the other readers; WAL lets them read while ingest
 * writes.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { errorFromWire, errorToWire } from "../../contracts/error-wire.ts";
import type { DenseEmbedder } from "../../models/ports.ts";
import { segmentSetFromWire, type SegmentSet } from "../../store/segments/build-segments.ts";
import { SegmentedIndexStore } from "../../store/segments/segmented-index-store.ts";
import { SqliteIndexStore } from "../../store/sqlite/sqlite-index-store.ts";
import { ExtractiveAnswerer } from "../answer/extractive-answerer.ts";
import { Retriever } from "../retriever.ts";
import type {
  ReadReply,
  ReaderThreadData,
  ReadRequest,
  SegmentReply,
  SegmentRequest,
} from "./reader-thread-protocol.ts";

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
const segments = data.retrieval.segments;
const sqlite = new SqliteIndexStore(data.indexPath);
const builder = data.builder ? segmentsFrom(data.builder) : undefined;
const store = segments.enabled
  ? new SegmentedIndexStore(sqlite, { quietMs: segments.quietMs, ...(builder ? { build: builder } : {}) })
  : sqlite;
const opened = store.open();
// Segments for every collection now, between queries; until one is built its queries go to SQLite.
if (store instanceof SegmentedIndexStore) void opened.then(() => store.warm()).catch(() => undefined);
const answerer = new ExtractiveAnswerer({ sentences: data.sentences });

/** Segments come from the pool's builder thread: built once for all readers, never on this thread. */
function segmentsFrom(builderPort: MessagePort): (collection: string) => Promise<SegmentSet | null> {
  let next = 0;
  let gone = false;
  const waiting = new Map<number, { resolve: (set: SegmentSet | null) => void; reject: (err: Error) => void }>();
  builderPort.on("message", (reply: SegmentReply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if ("error" in reply) w.reject(errorFromWire(reply.error));
    else w.resolve(reply.set ? segmentSetFromWire(reply.set) : null);
  });
  builderPort.on("close", () => {
    gone = true;
    for (const w of waiting.values()) w.reject(new Error("the segment builder thread is gone"));
    waiting.clear();
  });
  builderPort.unref();
  return (collection) => {
    if (gone) return Promise.reject(new Error("the segment builder thread is gone"));
    const id = ++next;
    return new Promise((resolve, reject) => {
      waiting.set(id, { resolve, reject });
      builderPort.postMessage({ id, collection } satisfies SegmentRequest);
    });
  };
}

async function read(request: ReadRequest): Promise<void> {
  try {
    await opened;
    const embedder = new ProvidedVector(request);
    const retriever = new Retriever(store, () => embedder, data.retrieval);
    const hits = await retriever.retrieve(request.collection, request.query, {
      mode: request.mode,
      k: request.k,
      ...(request.filter ? { filter: request.filter } : {}),
    });
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
    data.builder?.close();
    void opened.then(() => store.close()).finally(() => port.close());
    return;
  }
  void read(message);
});
