/** The scopes a caller can hold: `ingest` writes, `query` reads, `admin` runs the spool and metrics. */
export const SCOPES = ["ingest", "query", "admin"] as const;

/** One of {@link SCOPES}. */
export type Scope = (typeof SCOPES)[number];
