export type { GetJobOptions, Ledger, ListJobsOptions, SourceCursor } from "./ledger.ts";
export { SqliteLedger } from "./sqlite/sqlite-ledger.ts";
