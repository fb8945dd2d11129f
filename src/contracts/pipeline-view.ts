/**
 * A pipeline as the console and `GET /v1/pipelines` show it: the YAML's nodes and connections,
 * checked against the stage registry (src/engine/describe-pipeline.ts builds it).
 */

/** A node as the console draws it: its stage type, policy and ports. */
export interface PipelineNodeView {
  name: string;
  type: string;
  policy: string | null;
  checkpoint: boolean;
  /** Input ports with their types (known once the pipeline builds; empty when it does not). */
  inputs: Array<{ port: string; type: string; optional: boolean; fromRun: boolean }>;
}

/** A typed connection: `from.fromPort` feeds `to.toPort` (type null when the pipeline does not build). */
export interface PipelineEdgeView {
  from: string;
  fromPort: string;
  to: string;
  toPort: string;
  type: string | null;
}

/** A pipeline as YAML declares it and the registry checks it, for drawing as a DAG. */
export interface PipelineView {
  name: string;
  source: string;
  description: string | null;
  kind: "ingest" | "query" | null;
  valid: boolean;
  /** What is wrong, and the node it is about when there is one (the console marks that node). */
  error: { code: string; message: string; node: string | null } | null;
  nodes: PipelineNodeView[];
  edges: PipelineEdgeView[];
  /** The policies as written (retry, timeout, breaker, rate limit), by name. */
  policies: Record<string, Record<string, unknown>>;
  /** `node.port` names the run feeds. */
  inputs: string[];
}
