import type { Ledger } from "../ledger/ledger.ts";
import type { WorkQueue } from "./work-queue.ts";

/**
 * A ledger and the work queue that shares its database, as one backend gives them: the embedded
 * SQLite file, PostgreSQL, or PostgreSQL with BullMQ dispatching. `open` opens both; `close`
 * closes both.
 *
 * @example
 * const stores = createStores(config, dataDir);
 * await stores.open();
 * const job = await stores.ledger.createJob({ collection: "c", pipeline: "auto", paths: [] });
 * await stores.queue.admit(job.id, documents);
 */
export interface JobStores {
  readonly kind: "embedded" | "postgres" | "bullmq";
  readonly ledger: Ledger;
  readonly queue: WorkQueue;
  open(): Promise<void>;
  close(): Promise<void>;
}

/**
 * Opens the ledger, then the queue (which may need the ledger's tables), and closes in reverse.
 *
 * @example
 * const stores = pairStores("embedded", ledger, queue);
 */
export function pairStores(kind: JobStores["kind"], ledger: Ledger, queue: WorkQueue): JobStores {
  return {
    kind,
    ledger,
    queue,
    async open() {
      await ledger.open();
      await queue.open();
    },
    async close() {
      await queue.close();
      await ledger.close();
    },
  };
}
