export { LANES, DEFAULT_LANE_WEIGHTS, type Lane, type Spool, type SpoolRecord, type NewSpoolRecord, type DeadLetter, type SpoolStats, type LeaseOptions } from "./spool.ts";
export { SqliteSpool } from "./sqlite/sqlite-spool.ts";
