import { isSluiceError } from "../contracts/errors.ts";
import type { CompiledPipeline } from "../pipeline/build.ts";
import { loadTopology, type Topology } from "../pipeline/topology.ts";
import type { PipelineView } from "../contracts/pipeline-view.ts";

export type { PipelineEdgeView, PipelineNodeView, PipelineView } from "../contracts/pipeline-view.ts";

/** The node an invalid pipeline's error is about: from its details, else the first `node "x"` its message names. */
function errorNode(details: Record<string, unknown> | undefined, message: string, names: Set<string>): string | null {
  const candidates: unknown[] = [
    details?.["node"],
    (details?.["connection"] as { receiver?: string } | undefined)?.receiver?.split(".")[0],
    typeof details?.["ref"] === "string" ? details["ref"].split(".")[0] : undefined,
    /node "([^"]+)"/.exec(message)?.[1],
  ];
  for (const c of candidates) if (typeof c === "string" && names.has(c)) return c;
  return null;
}

/** The drawing of a topology the registry did not check: nodes and the connections as written. */
function fromTopology(topology: Topology): Pick<PipelineView, "nodes" | "edges" | "policies" | "inputs"> {
  const runInputs = new Set(topology.inputs);
  return {
    nodes: topology.nodes.map((n) => ({
      name: n.name,
      type: n.type,
      policy: n.policy ?? null,
      checkpoint: n.checkpoint ?? false,
      inputs: topology.inputs
        .filter((ref) => ref.startsWith(`${n.name}.`))
        .map((ref) => ({ port: ref.split(".")[1]!, type: "?", optional: false, fromRun: runInputs.has(ref) })),
    })),
    edges: topology.connections.map((c) => {
      const [from, fromPort] = c.sender.split(".") as [string, string];
      const [to, toPort] = c.receiver.split(".") as [string, string];
      return { from, fromPort, to, toPort, type: null };
    }),
    policies: topology.policies ?? {},
    inputs: topology.inputs,
  };
}

/**
 * A pipeline's YAML as a drawable DAG: nodes with their stage types, policies and typed input
 * ports, edges with the port type they carry, and — when it does not build — the error with the
 * node it is about. Never throws for an invalid pipeline: that is what it shows.
 *
 * @example
 * const view = await describePipeline(yaml, "auto.yaml", "auto", (t) => sluice.buildTopology(t));
 * view.valid; // true
 */
export async function describePipeline(
  yaml: string,
  source: string,
  name: string,
  build: (topology: Topology) => CompiledPipeline | Promise<CompiledPipeline>,
): Promise<PipelineView> {
  let topology: Topology;
  try {
    topology = loadTopology(yaml, source);
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    return {
      name,
      source,
      description: null,
      kind: null,
      valid: false,
      error: { code: err.code, message: err.message, node: null },
      nodes: [],
      edges: [],
      policies: {},
      inputs: [],
    };
  }
  const drawn = fromTopology(topology);
  const base = { name: topology.name, source, description: topology.description ?? null };
  let compiled: CompiledPipeline;
  try {
    compiled = await build(topology);
  } catch (err) {
    if (!isSluiceError(err)) throw err;
    const names = new Set(topology.nodes.map((n) => n.name));
    return {
      ...base,
      ...drawn,
      kind: null,
      valid: false,
      error: { code: err.code, message: err.message, node: errorNode(err.details, err.message, names) },
    };
  }
  const typeOf = new Map<string, string>();
  const nodes = compiled.nodes.map((n) => {
    for (const b of n.inputs) typeOf.set(`${n.name}.${b.port}`, b.type);
    return {
      name: n.name,
      type: n.definition.type,
      policy: n.policyName,
      checkpoint: n.checkpoint,
      inputs: n.inputs.map((b) => ({
        port: b.port,
        type: b.type,
        optional: b.optional,
        fromRun: b.from !== null && "runInput" in b.from,
      })),
    };
  });
  return {
    ...base,
    ...drawn,
    nodes,
    edges: drawn.edges.map((e) => ({ ...e, type: typeOf.get(`${e.to}.${e.toPort}`) ?? null })),
    kind: compiled.kind,
    valid: true,
    error: null,
  };
}
