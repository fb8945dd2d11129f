/**
 * Entry of a `ReaderPool`'s segment builder thread (never imported by the main thread): builds a
 * collection's search segments once for every reader, off the threads that answer queries, and
 * hands them over on SharedArrayBuffers. Each reader has a port of its own (`connect`); requests
 * for a collection already being built wait for that build, and a finished set is kept a while for
 * the readers that ask a moment later.
 */
import { parentPort, workerData, type MessagePort } from "node:worker_threads";
import { errorToWire } from "../../contracts/error-wire.ts";
import {
  buildSegments,
  segmentKey,
  segmentSetToWire,
  type SegmentSetWire,
} from "../../store/segments/build-segments.ts";
import { SqliteIndexStore } from "../../store/sqlite/sqlite-index-store.ts";
import type {
  BuilderMessage,
  BuilderThreadData,
  BuiltMessage,
  SegmentReply,
  SegmentRequest,
} from "./reader-thread-protocol.ts";

/** How long a built set is kept for readers that ask after it was built. */
const KEEP_MS = 30_000;

function threadPort(): MessagePort {
  if (parentPort === null) throw new Error("segment-builder-thread.ts runs as a worker thread only (see ReaderPool)");
  return parentPort;
}

const control = threadPort();
const data = workerData as BuilderThreadData;
const store = new SqliteIndexStore(data.indexPath);
const opened = store.open();
const building = new Map<string, Promise<SegmentSetWire | null>>();
const kept = new Map<string, SegmentSetWire>();
const readers = new Set<MessagePort>();
let closed = false;

async function segments(collection: string): Promise<SegmentSetWire | null> {
  await opened;
  const info = await store.getCollection(collection);
  if (!info) return null;
  const ready = kept.get(collection);
  if (ready?.key === segmentKey(info)) return ready;
  let build = building.get(collection);
  if (!build) {
    build = buildSegments(store, collection, { stopped: () => closed, ann: data.ann })
      .then((set) => {
        if (!set) return null;
        const wire = segmentSetToWire(set);
        control.postMessage({ type: "built", collection, stats: set.stats } satisfies BuiltMessage);
        kept.set(collection, wire);
        setTimeout(() => kept.get(collection) === wire && kept.delete(collection), KEEP_MS).unref();
        return wire;
      })
      .finally(() => building.delete(collection));
    building.set(collection, build);
  }
  return build;
}

function connect(port: MessagePort): void {
  readers.add(port);
  port.on("message", (request: SegmentRequest) => {
    segments(request.collection).then(
      (set) => port.postMessage({ id: request.id, set } satisfies SegmentReply),
      (err: unknown) => port.postMessage({ id: request.id, error: errorToWire(err) } satisfies SegmentReply),
    );
  });
  port.on("close", () => readers.delete(port));
}

control.on("message", (message: BuilderMessage) => {
  if (message.type === "connect") return connect(message.port);
  closed = true;
  for (const port of readers) port.close();
  void Promise.allSettled([...building.values()])
    .then(() => opened)
    .then(() => store.close())
    .finally(() => control.close());
});
