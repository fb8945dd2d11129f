export type { Ledger, DocumentUpdate, PendingDocument, ListJobsOptions } from "./ledger.ts";
export { SqliteLedger } from "./sqlite/sqlite-ledger.ts";
