export { Worker, type WorkerOptions, type DrainOptions, type DocumentProgress } from "./worker.ts";
export {
  LANES,
  DEFAULT_LANE_WEIGHTS,
  type Lane,
  type WorkQueue,
  type RecordQueue,
  type Lease,
  type DocumentOutcome,
  type QueueStats,
  type DeadLetter,
  type AdmittedDocument,
  type Recovered,
} from "./work-queue.ts";
export { type JobStores } from "./stores.ts";
export { decide, precheck, backoffMs, type Decision, type RequeuePolicy } from "./decide.ts";
export { createStores } from "./create-stores.ts";
