export * from "./errors.ts";
export * from "./document.ts";
export * from "./chunk.ts";
export * from "./job.ts";
export * from "./stage-event.ts";
export * from "./job-event.ts";
export * from "./envelope.ts";
export * from "./spool.ts";
