export {
  defineStage,
  type StageDefinition,
  type StageInstance,
  type StageContext,
  type AnyStageDefinition,
} from "./define-stage.ts";
export { StageRegistry } from "./registry.ts";
export {
  loadTopology,
  loadTopologyFile,
  dumpTopology,
  TopologySchema,
  type Topology,
  type NodeSpec,
  type Connection,
} from "./topology.ts";
export { buildPipeline, type CompiledPipeline, type CompiledNode } from "./build.ts";
export { runPipeline, type RunContext, type RunResult, type CheckpointStore } from "./executor.ts";
export { buildPolicy, PolicySpecSchema, type PolicySpec } from "./policies.ts";
export { SkipDocument, isSkipDocument, WaitFor, isWaitFor } from "./control.ts";
export { PORT_TYPES, type PortTypeName, type PortSpec } from "./port-types.ts";
export type { StageServices } from "./services.ts";
