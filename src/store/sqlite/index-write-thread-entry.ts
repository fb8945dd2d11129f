import { parentPort, workerData } from "node:worker_threads";
import { errorToWire } from "../../contracts/error-wire.ts";
import { openSqlite } from "../../db/open-sqlite.ts";
import { IndexWrites } from "./index-writes.ts";
import type { WriteReply, WriteRequest } from "./index-write-thread.ts";

/**
 * The index writer thread: its own connection to the index file, writing each batch it is sent
 * in one transaction and answering with each document's result or error, in the order sent.
 */
const { path } = workerData as { path: string };
const db = openSqlite(path, { vectors: true });
const writes = new IndexWrites(db);
const port = parentPort!;

port.on("message", (request: WriteRequest) => {
  if (request.type === "close") {
    db.close();
    port.postMessage({ id: request.id, type: "closed" } satisfies WriteReply);
    return;
  }
  let reply: WriteReply;
  try {
    const results = writes.writeBatch(request.batch);
    reply = {
      id: request.id,
      type: "written",
      results: results.map((r) =>
        r instanceof Error ? { ok: false, error: errorToWire(r) } : { ok: true, result: r },
      ),
    };
  } catch (err) {
    reply = { id: request.id, type: "failed", error: errorToWire(err) };
  }
  port.postMessage(reply);
});
