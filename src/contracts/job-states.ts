/**
 * The states of jobs and of their documents, in a module of plain values (no zod), so code that
 * only needs the names, the web console among it, does not bundle a validator.
 */
export const JOB_STATES = ["PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"] as const;

export const DOC_STATES = ["PENDING", "PROCESSING", "WAITING", "COMPLETED", "FAILED", "CANCELLED"] as const;
