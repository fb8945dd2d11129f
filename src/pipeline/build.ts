import { SluiceError } from "../contracts/errors.ts";
import type { AnyStageDefinition, StageInstance } from "./define-stage.ts";
import {
  type BreakerState,
  buildPolicy,
  type PolicySpec,
  PolicySpecSchema,
  type RetrySpec,
  type StagePolicy,
} from "./policies.ts";
import { TokenBucket } from "./token-bucket.ts";
import { parsePortSpec, type PortTypeName } from "./port-types.ts";
import type { StageRegistry } from "./registry.ts";
import type { StageServices } from "./services.ts";
import type { Topology } from "./topology.ts";

export interface InputBinding {
  port: string;
  type: PortTypeName;
  optional: boolean;
  /** Where the value comes from: another node's output, or the run's own inputs. */
  from: { node: string; port: string } | { runInput: string } | null;
}

export interface CompiledNode {
  name: string;
  definition: AnyStageDefinition;
  instance: StageInstance<Record<string, unknown>, Record<string, unknown>>;
  policy: StagePolicy | null;
  policyName: string | null;
  /** The policy's per-attempt timeout: each attempt's deadline, passed on to model calls. */
  timeoutMs: number | null;
  checkpoint: boolean;
  inputs: InputBinding[];
  /** Nodes this one waits for. */
  dependsOn: string[];
}

/** What a pipeline runs on: documents into the index, or a query into results. */
export type PipelineKind = "ingest" | "query";

/** A named output of a run: a node's output port. */
export interface OutputBinding {
  node: string;
  port: string;
  type: PortTypeName;
}

export interface CompiledPipeline {
  topology: Topology;
  /** `query` when its inputs are Query ports (its run hands back `outputs`), else `ingest`. */
  kind: PipelineKind;
  /** The run's named outputs (`results`, `answer` of a query pipeline). */
  outputs: Record<string, OutputBinding>;
  /** Nodes in a topological order. */
  nodes: CompiledNode[];
  /** `node.port` names the run must supply. */
  runInputs: string[];
  /**
   * The `retry` of the policy named by `requeue`: how a failed document is sent back to the queue;
   * null for the engine's default.
   */
  requeue: RetrySpec | null;
  warmUp(): Promise<void>;
}

/** Observers of a built pipeline (the engine's metrics). */
export interface BuildOptions {
  /** A node's circuit breaker changed state (called with `closed` once it is built). */
  onBreakerState?: (labels: { pipeline: string; policy: string; stage: string }, state: BreakerState) => void;
}

function fail(message: string, details: Record<string, unknown> = {}): never {
  throw new SluiceError("PIPELINE_INVALID", message, { details });
}

function rateLimiterOf(spec: PolicySpec, policy: string | null, buckets: Map<string, TokenBucket>) {
  if (!spec.rateLimit || policy === null) return {};
  let bucket = buckets.get(policy);
  if (!bucket) buckets.set(policy, (bucket = new TokenBucket(spec.rateLimit)));
  return { rateLimiter: bucket };
}

function policyHooks(pipeline: string, policy: string | null, stage: string, options: BuildOptions) {
  const { onBreakerState } = options;
  if (!onBreakerState || policy === null) return {};
  return { onBreakerState: (state: BreakerState) => onBreakerState({ pipeline, policy, stage }, state) };
}

function describePorts(definition: AnyStageDefinition, side: "inputs" | "outputs"): string {
  const entries = Object.entries(definition[side]);
  return entries.length === 0 ? "(none)" : entries.map(([p, t]) => `${p} (${t})`).join(", ");
}

/**
 * Checks a topology against the registry and wires it: unknown types, unknown policies, bad
 * config, unknown ports, mismatched port types, double-fed or unfed inputs and cycles all fail
 * here, before any document runs, with a message that names the node and lists what exists.
 *
 * @example
 * const pipeline = buildPipeline(loadTopology(yamlText), registry, services);
 * await pipeline.warmUp();
 */
export function buildPipeline(
  topology: Topology,
  registry: StageRegistry,
  services: StageServices,
  options: BuildOptions = {},
): CompiledPipeline {
  const policies = topology.policies ?? {};
  const byName = new Map<
    string,
    { definition: AnyStageDefinition; config: unknown; policyName: string | null; checkpoint: boolean }
  >();

  for (const node of topology.nodes) {
    if (byName.has(node.name)) fail(`node "${node.name}" is defined twice`, { node: node.name });
    const definition = registry.get(node.type, node.name);
    const parsed = definition.configSchema.safeParse(node.config ?? {});
    if (!parsed.success) {
      const reasons = parsed.error.issues.map(
        (i) => `${i.path.length ? `config.${i.path.join(".")}` : "config"}: ${i.message}`,
      );
      fail(`node "${node.name}" (${node.type}): ${reasons.join("; ")}`, { node: node.name, issues: reasons });
    }
    if (node.policy !== undefined && !(node.policy in policies)) {
      fail(
        `node "${node.name}": unknown policy "${node.policy}"; defined policies: ${Object.keys(policies).join(", ") || "(none)"}`,
        { node: node.name },
      );
    }
    byName.set(node.name, {
      definition,
      config: parsed.data,
      policyName: node.policy ?? null,
      checkpoint: node.checkpoint ?? false,
    });
  }

  const nodeOf = (ref: string, side: "sender" | "receiver" | "input" | "output") => {
    const [nodeName, port] = ref.split(".") as [string, string];
    const entry = byName.get(nodeName);
    if (!entry) fail(`${side} "${ref}": no node named "${nodeName}"; nodes: ${[...byName.keys()].join(", ")}`, { ref });
    const sends = side === "sender" || side === "output";
    const ports = sends ? entry.definition.outputs : entry.definition.inputs;
    const spec = ports[port];
    if (spec === undefined) {
      const which = sends ? "outputs" : "inputs";
      fail(
        `${side} "${ref}": node "${nodeName}" (${entry.definition.type}) has no ${which.slice(0, -1)} "${port}"; its ${which} are: ${describePorts(entry.definition, which)}`,
        { ref },
      );
    }
    return { nodeName, port, ...parsePortSpec(spec) };
  };

  const feeds = new Map<string, InputBinding["from"]>();
  for (const ref of topology.inputs) {
    const target = nodeOf(ref, "input");
    feeds.set(ref, { runInput: `${target.nodeName}.${target.port}` });
  }
  for (const c of topology.connections) {
    const from = nodeOf(c.sender, "sender");
    const to = nodeOf(c.receiver, "receiver");
    if (from.type !== to.type) {
      fail(
        `connection ${c.sender} → ${c.receiver}: ${c.sender} sends ${from.type} but ${c.receiver} expects ${to.type}`,
        { connection: c },
      );
    }
    if (feeds.has(c.receiver)) fail(`input "${c.receiver}" is fed twice`, { connection: c });
    feeds.set(c.receiver, { node: from.nodeName, port: from.port });
  }

  const compiled = new Map<string, CompiledNode>();
  // One bucket per rate-limited policy, shared by the nodes that name it.
  const rateLimiters = new Map<string, TokenBucket>();
  for (const [name, entry] of byName) {
    const inputs: InputBinding[] = Object.entries(entry.definition.inputs).map(([port, spec]) => {
      const { type, optional } = parsePortSpec(spec);
      const from = feeds.get(`${name}.${port}`) ?? null;
      if (!from && !optional) {
        fail(
          `node "${name}" (${entry.definition.type}): required input "${port}" (${type}) is not connected and not a pipeline input`,
          { node: name },
        );
      }
      return { port, type, optional, from };
    });
    const dependsOn = [...new Set(inputs.flatMap((b) => (b.from && "node" in b.from ? [b.from.node] : [])))];
    const policySpec = entry.policyName ? PolicySpecSchema.parse(policies[entry.policyName]) : null;
    compiled.set(name, {
      name,
      definition: entry.definition,
      instance: entry.definition.create(entry.config, services),
      policy: policySpec
        ? buildPolicy(policySpec, {
            ...policyHooks(topology.name, entry.policyName, name, options),
            ...rateLimiterOf(policySpec, entry.policyName, rateLimiters),
          })
        : null,
      policyName: entry.policyName,
      timeoutMs: policySpec?.timeoutMs ?? null,
      checkpoint: entry.checkpoint,
      inputs,
      dependsOn,
    });
  }

  const order = topologicalOrder(compiled);
  const { kind, outputs } = kindAndOutputs(topology, nodeOf);
  let requeue: RetrySpec | null = null;
  if (topology.requeue !== undefined) {
    if (!(topology.requeue in policies))
      fail(
        `requeue: unknown policy "${topology.requeue}"; defined policies: ${Object.keys(policies).join(", ") || "(none)"}`,
        { requeue: topology.requeue },
      );
    const retry = PolicySpecSchema.parse(policies[topology.requeue]).retry;
    if (!retry)
      fail(
        `requeue: policy "${topology.requeue}" has no retry section; it must say how many attempts and how long to back off`,
        { requeue: topology.requeue },
      );
    requeue = retry;
  }
  let warming: Promise<void> | null = null;
  return {
    topology,
    kind,
    outputs,
    nodes: order,
    runInputs: [...topology.inputs],
    requeue,
    warmUp() {
      warming ??= (async () => {
        for (const node of order) await node.instance.warmUp?.();
      })();
      return warming;
    },
  };
}

/** The outputs a query pipeline hands back, and their port types. */
const QUERY_OUTPUTS: Record<string, { type: PortTypeName; required: boolean }> = {
  results: { type: "RankedChunks", required: true },
  answer: { type: "Answer", required: false },
};

/**
 * A pipeline whose inputs are Query ports is a query pipeline: it must name its `results`
 * (RankedChunks) and may name an `answer`. Any other pipeline is an ingest pipeline and names none.
 */
function kindAndOutputs(
  topology: Topology,
  nodeOf: (ref: string, side: "input" | "output") => { nodeName: string; port: string; type: PortTypeName },
): { kind: PipelineKind; outputs: Record<string, OutputBinding> } {
  const queryInputs = topology.inputs.filter((ref) => nodeOf(ref, "input").type === "Query");
  if (queryInputs.length > 0 && queryInputs.length < topology.inputs.length)
    fail(
      `inputs: a query pipeline's inputs are all Query ports; ${topology.inputs.filter((r) => !queryInputs.includes(r)).join(", ")} is not`,
    );
  const kind: PipelineKind = queryInputs.length > 0 ? "query" : "ingest";
  const outputs: Record<string, OutputBinding> = {};
  for (const [name, ref] of Object.entries(topology.outputs ?? {})) {
    const expected = QUERY_OUTPUTS[name];
    if (kind === "ingest")
      fail(`outputs: an ingest pipeline hands nothing back (its stages write the index); remove "${name}"`);
    if (!expected)
      fail(
        `outputs: unknown output "${name}"; a query pipeline's outputs are: ${Object.keys(QUERY_OUTPUTS).join(", ")}`,
      );
    const from = nodeOf(ref, "output");
    if (from.type !== expected.type)
      fail(`outputs.${name}: ${ref} is ${from.type}, but ${name} must be ${expected.type}`, { output: name });
    outputs[name] = { node: from.nodeName, port: from.port, type: from.type };
  }
  if (kind === "query")
    for (const [name, spec] of Object.entries(QUERY_OUTPUTS))
      if (spec.required && !outputs[name])
        fail(`outputs.${name}: a query pipeline must name the ${spec.type} output that holds its ${name} (node.port)`);
  return { kind, outputs };
}

function topologicalOrder(nodes: Map<string, CompiledNode>): CompiledNode[] {
  const order: CompiledNode[] = [];
  const state = new Map<string, "visiting" | "done">();
  const visit = (name: string, path: string[]) => {
    const s = state.get(name);
    if (s === "done") return;
    if (s === "visiting") fail(`the pipeline has a cycle: ${[...path, name].join(" → ")}`);
    state.set(name, "visiting");
    const node = nodes.get(name)!;
    for (const dep of node.dependsOn) visit(dep, [...path, name]);
    state.set(name, "done");
    order.push(node);
  };
  for (const name of nodes.keys()) visit(name, []);
  return order;
}
