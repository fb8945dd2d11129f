export type { Ledger, ListJobsOptions } from "./ledger.ts";
export { SqliteLedger } from "./sqlite/sqlite-ledger.ts";
