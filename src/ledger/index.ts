export type { Ledger, ListJobsOptions, SourceCursor } from "./ledger.ts";
export { SqliteLedger } from "./sqlite/sqlite-ledger.ts";
