export type { Ledger, DocumentUpdate, AdmittedDocument, ListJobsOptions } from "./ledger.ts";
export { SqliteLedger } from "./sqlite/sqlite-ledger.ts";
