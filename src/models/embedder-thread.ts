/**
 * Entry of one `ThreadedEmbedder` worker thread (never imported by the main thread): builds the
 * configured embedder with `createEmbedder` here, so its model, runtime and caches (the `static`
 * embedder's SQLite word cache) live in this thread, and answers the messages of
 * `embedder-thread-protocol.ts` one reply per request. Calls run concurrently as they would on
 * the main thread; the embedder serialises its own model calls.
 */
import { type MessagePort, parentPort, workerData } from "node:worker_threads";
import { errorToWire } from "../contracts/error-wire.ts";
import { createEmbedder } from "./create-embedder.ts";
import { type EmbedderThreadData, type FromThread, packVectors, type ToThread } from "./embedder-thread-protocol.ts";

function threadPort(): MessagePort {
  if (parentPort === null) throw new Error("embedder-thread.ts runs as a worker thread only (see ThreadedEmbedder)");
  return parentPort;
}

const port = threadPort();
const data = workerData as EmbedderThreadData;
const embedder = createEmbedder(data.config, data.dataDir === undefined ? {} : { dataDir: data.dataDir });
/** Signals of the embed calls in progress, by request id. */
const running = new Map<number, AbortController>();

async function answer(message: ToThread): Promise<void> {
  const { id } = message;
  try {
    switch (message.type) {
      case "warmUp": {
        await embedder.warmUp();
        const { id: modelId, dimensions, languages } = embedder;
        reply({ id, ok: true, info: { id: modelId, dimensions, ...(languages ? { languages: [...languages] } : {}) } });
        return;
      }
      case "embed": {
        const controller = new AbortController();
        running.set(id, controller);
        try {
          const vectors = await embedder.embed(message.texts, {
            signal: controller.signal,
            ...(message.kind === undefined ? {} : { kind: message.kind }),
            ...(message.params === undefined ? {} : { params: message.params }),
          });
          const packed = packVectors(vectors, embedder.dimensions);
          reply({ id, ok: true, ...packed }, [packed.vectors]);
        } finally {
          running.delete(id);
        }
        return;
      }
      case "abort":
        running.get(id)?.abort();
        return;
      case "close":
        await embedder.close();
        reply({ id, ok: true });
        return;
    }
  } catch (err) {
    reply({ id, ok: false, error: errorToWire(err) });
  }
}

function reply(message: FromThread, transfer: ArrayBuffer[] = []): void {
  port.postMessage(message, transfer);
}

port.on("message", (message: ToThread) => void answer(message));
