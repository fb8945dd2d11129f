export { Gate, type GateLimits, type GateTarget, type GateOutcome, type GateOptions } from "./gate.ts";
export { classify, type Classification, type ClassifyInput } from "./classify.ts";
