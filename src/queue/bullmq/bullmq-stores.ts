import { SluiceError } from "../../contracts/errors.ts";
import { pairStores, type JobStores } from "../stores.ts";
import type { RecordQueue, WorkQueue } from "../work-queue.ts";
import { BullmqWorkQueue, type BullmqWorkQueueOptions } from "./bullmq-work-queue.ts";

const isRecordQueue = (queue: WorkQueue): queue is RecordQueue =>
  ["claim", "dispatchable", "wake"].every(
    (m) => typeof (queue as unknown as Record<string, unknown>)[m] === "function",
  );

/**
 * The ledger and record queue of `records` (SQLite or PostgreSQL), with work dispatched through
 * BullMQ on Redis: the same ledger, and a {@link BullmqWorkQueue} that owns the record queue
 * (opens and closes it). `records` itself is not opened or closed.
 *
 * @example
 * const stores = bullmqStores(sqliteStores(join(dataDir, "ledger.db")), { redis: { url: "redis://127.0.0.1:6379", keyPrefix: "sluice:" } });
 * await stores.open();
 */
export function bullmqStores(
  records: JobStores,
  options: BullmqWorkQueueOptions,
): JobStores & { queue: BullmqWorkQueue } {
  if (!isRecordQueue(records.queue))
    throw new SluiceError(
      "CONFIG_INVALID",
      `queue: bullmq needs a record queue under it (claim, dispatchable, wake); the ${records.kind} queue has none`,
    );
  const queue = new BullmqWorkQueue(records.queue, options);
  return { ...pairStores("bullmq", records.ledger, queue), queue };
}
