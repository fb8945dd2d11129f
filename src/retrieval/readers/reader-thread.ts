/**
 * Entry of one `ReaderPool` thread (never imported by the main thread): opens the index file with
 * a connection of its own, with search segments in front (`retrieval.segments`), and runs
 * `ReadRequest`s through their query pipeline (compiled here once per version), one reply each.
 * Reads run here, so a slow query holds up neither the HTTP loop nor the other readers; WAL lets
 * them read while ingest writes. What lives on the main thread is asked for there: the query's
 * embedding comes with it, the reranker is called over the port.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { errorFromWire, errorToWire } from "../../contracts/error-wire.ts";
import { SluiceError } from "../../contracts/errors.ts";
import type { Reranker } from "../../models/ports.ts";
import { buildPipeline, type CompiledPipeline } from "../../pipeline/build.ts";
import type { StageServices } from "../../pipeline/services.ts";
import { loadTopology } from "../../pipeline/topology.ts";
import { segmentSetFromWire, type SegmentSet } from "../../store/segments/build-segments.ts";
import { SegmentedIndexStore } from "../../store/segments/segmented-index-store.ts";
import { SqliteIndexStore } from "../../store/sqlite/sqlite-index-store.ts";
import { ExtractiveAnswerer } from "../answer/extractive-answerer.ts";
import { runQuery } from "../run-query.ts";
import { queryStageRegistry } from "../stages/index.ts";
import type {
  HostReply,
  HostRequest,
  QueryPipelineSource,
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

const port = threadPort();
const data = workerData as ReaderThreadData;
const segments = data.config.retrieval.segments;
const sqlite = new SqliteIndexStore(data.indexPath);
const builder = data.builder ? segmentsFrom(data.builder) : undefined;
const store = segments.enabled
  ? new SegmentedIndexStore(sqlite, { quietMs: segments.quietMs, ...(builder ? { build: builder } : {}) })
  : sqlite;
const opened = store.open();
// Segments for every collection now, between queries; until one is built its queries go to SQLite.
if (store instanceof SegmentedIndexStore) void opened.then(() => store.warm()).catch(() => undefined);
// The pool runs with the extractive answer only (a chat model's answers are written on the main thread).
const answerer = new ExtractiveAnswerer({
  sentences: data.config.answer.backend === "extractive" ? data.config.answer.sentences : 3,
});
const registry = queryStageRegistry();
const pipelines = new Map<string, CompiledPipeline>();
const host = hostCalls();

function notHere(what: string): never {
  throw new SluiceError("STAGE_FAILED", `a reader thread ${what}`);
}

/** What query stages use here: this thread's store and answerer, the main thread's reranker. */
const services: StageServices = {
  config: data.config,
  dataDir: "",
  store: () => store,
  embedder: () => notHere("embeds nothing: a dense query comes with its embedding"),
  sparseEncoder: () => notHere("runs query pipelines only"),
  ocr: () => notHere("runs query pipelines only"),
  reranker: () => host.reranker,
  answerer: () => answerer,
};

/** A query pipeline, compiled once per version (the main thread validated it first). */
function pipelineOf(source: QueryPipelineSource): CompiledPipeline {
  let pipeline = pipelines.get(source.version);
  if (!pipeline) {
    pipeline = buildPipeline(loadTopology(source.yaml, `query pipeline ${source.version}`), registry, services);
    pipelines.set(source.version, pipeline);
  }
  return pipeline;
}

/** Calls to the main thread: the reranker lives there (a model, a gRPC client, an HTTP API's key). */
function hostCalls(): { reranker: Reranker; settle: (reply: HostReply) => void } {
  let next = 0;
  const waiting = new Map<number, { resolve: (scores: number[]) => void; reject: (e: Error) => void }>();
  const reranker = {
    // The main thread's reranker is fixed for the process: each reply names it.
    id: "host",
    warmUp: () => Promise.resolve(),
    close: () => Promise.resolve(),
    rerank(query: string, passages: readonly string[]): Promise<number[]> {
      const id = ++next;
      return new Promise<number[]>((resolve, reject) => {
        waiting.set(id, { resolve, reject });
        port.postMessage({ type: "host", id, op: "rerank", query, passages: [...passages] } satisfies HostRequest);
      });
    },
  } satisfies Reranker;
  const settle = (reply: HostReply) => {
    const w = waiting.get(reply.id);
    if (!w) return;
    waiting.delete(reply.id);
    if (reply.ok) {
      reranker.id = reply.reranker;
      w.resolve(reply.scores);
    } else w.reject(errorFromWire(reply.error));
  };
  return { reranker, settle };
}

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
    const run = await runQuery(pipelineOf(request.pipeline), request.query);
    reply({ id: request.id, ok: true, run });
  } catch (err) {
    reply({ id: request.id, ok: false, error: errorToWire(err) });
  }
}

function reply(message: ReadReply): void {
  port.postMessage(message);
}

port.on("message", (message: ReadRequest | HostReply | { type: "close" }) => {
  if ("type" in message && message.type === "host-reply") {
    host.settle(message);
    return;
  }
  if ("type" in message) {
    data.builder?.close();
    void opened.then(() => store.close()).finally(() => port.close());
    return;
  }
  void read(message);
});
