import { readFile } from "node:fs/promises";
import { parseDocument, stringify } from "yaml";
import { z } from "zod";
import { SluiceError } from "../contracts/errors.ts";
import { PolicySpecSchema } from "./policies.ts";

const NAME = /^[a-z][a-z0-9_-]{0,63}$/;
const PORT_REF = /^[a-z][a-z0-9_-]{0,63}\.[a-zA-Z][a-zA-Z0-9_]{0,63}$/;

export const NodeSpecSchema = z
  .object({
    name: z.string().regex(NAME, "node names are lowercase letters, digits, - and _"),
    type: z.string().min(1),
    policy: z.string().optional(),
    /** Save the node's output so a resumed run starts after it. */
    checkpoint: z.boolean().optional(),
    config: z.record(z.string(), z.unknown()).optional(),
  })
  .strict();
export type NodeSpec = z.infer<typeof NodeSpecSchema>;

export const ConnectionSchema = z
  .object({
    sender: z.string().regex(PORT_REF, "expected node.port"),
    receiver: z.string().regex(PORT_REF, "expected node.port"),
  })
  .strict();
export type Connection = z.infer<typeof ConnectionSchema>;

/**
 * A pipeline topology as YAML holds it: registry names, config and connections — nothing that
 * runs. Policies are stored as written (defaults are applied when the pipeline is built) so
 * that `dump(load(x))` gives `x` back.
 */
export const TopologySchema = z
  .object({
    version: z.literal(1),
    name: z.string().regex(NAME),
    description: z.string().optional(),
    policies: z.record(z.string(), z.record(z.string(), z.unknown())).optional(),
    /**
     * The policy (by name) whose `retry` says how a failed document goes back to the queue: its
     * attempts and its backoff between them. Absent: `spool.maxAttempts` and `spool.retry`.
     */
    requeue: z.string().regex(NAME).optional(),
    /** Input ports fed by the run itself (`node.port`). */
    inputs: z.array(z.string().regex(PORT_REF)).min(1),
    nodes: z.array(NodeSpecSchema).min(1),
    connections: z.array(ConnectionSchema).default([]),
    /**
     * What a run hands back, by name (`node.port`): a query pipeline's `results` (RankedChunks)
     * and `answer` (Answer). Ingest pipelines have none: their last stage writes the index.
     */
    outputs: z.record(z.string().regex(NAME), z.string().regex(PORT_REF)).optional(),
  })
  .strict();
export type Topology = z.infer<typeof TopologySchema>;

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  const path = issue.path;
  // Name the node by its `name`, not its index, when the problem is inside one.
  if (path[0] === "nodes" && typeof path[1] === "number" && raw && typeof raw === "object") {
    const nodes = (raw as { nodes?: unknown }).nodes;
    const node = Array.isArray(nodes) ? (nodes[path[1]] as { name?: unknown } | undefined) : undefined;
    const label = typeof node?.name === "string" ? `node "${node.name}"` : `nodes[${path[1]}]`;
    const rest = path.slice(2).join(".");
    return `${label}${rest ? ` field "${rest}"` : ""}: ${issue.message}`;
  }
  return `${path.length ? `field "${path.join(".")}"` : "pipeline"}: ${issue.message}`;
}

/**
 * Parses and validates a topology from YAML text. Throws PIPELINE_INVALID naming the file,
 * the node and the field.
 *
 * @example
 * const topology = loadTopology(await readFile("pipelines/auto.yaml", "utf8"), "auto.yaml");
 */
export function loadTopology(text: string, source = "<pipeline>"): Topology {
  const doc = parseDocument(text, { prettyErrors: true });
  if (doc.errors.length > 0) {
    const first = doc.errors[0]!;
    throw new SluiceError("PIPELINE_INVALID", `${source}: invalid YAML: ${first.message}`, { details: { source } });
  }
  const raw: unknown = doc.toJS();
  const parsed = TopologySchema.safeParse(raw);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => describeIssue(i, raw));
    throw new SluiceError("PIPELINE_INVALID", `${source}: ${reasons.join("; ")}`, {
      details: { source, issues: reasons },
    });
  }
  const topology = parsed.data;
  for (const [name, spec] of Object.entries(topology.policies ?? {})) {
    const checked = PolicySpecSchema.safeParse(spec);
    if (!checked.success) {
      const reasons = checked.error.issues.map((i) => `policy "${name}" field "${i.path.join(".")}": ${i.message}`);
      throw new SluiceError("PIPELINE_INVALID", `${source}: ${reasons.join("; ")}`, {
        details: { source, issues: reasons },
      });
    }
  }
  return topology;
}

export async function loadTopologyFile(path: string): Promise<Topology> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new SluiceError("PATH_NOT_FOUND", `pipeline file not found: ${path}`, { cause: err, details: { path } });
  }
  return loadTopology(text, path);
}

/** Serialises a topology back to YAML in the shipped files' layout. */
export function dumpTopology(topology: Topology): string {
  return stringify(topology, { lineWidth: 0 });
}
