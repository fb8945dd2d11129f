import dagre, { type EdgeLabel, type NodeLabel } from "@dagrejs/dagre";
import { useMemo } from "preact/hooks";
import { policySummary, type PipelineView } from "../pipeline-view.ts";

const NODE_W = 190;
const NODE_H = 58;

interface Laid {
  width: number;
  height: number;
  nodes: Array<{ name: string; x: number; y: number }>;
  edges: Array<{ key: string; points: Array<{ x: number; y: number }>; label: string; x: number; y: number }>;
}

/** dagre's layered layout of the pipeline, top to bottom, with room for a label on each edge. */
function layout(view: PipelineView): Laid {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: "TB", nodesep: 36, ranksep: 56, edgesep: 16, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const n of view.nodes) g.setNode(n.name, { width: NODE_W, height: NODE_H });
  const names = new Set(view.nodes.map((n) => n.name));
  const edges = view.edges.filter((e) => names.has(e.from) && names.has(e.to));
  edges.forEach((e, i) => {
    const label = `${e.fromPort} → ${e.toPort}${e.type ? `: ${e.type}` : ""}`;
    g.setEdge(e.from, e.to, { label, width: Math.min(220, label.length * 6.2), height: 14, labelpos: "c" }, String(i));
  });
  dagre.layout(g);
  const graph = g.graph() as { width?: number; height?: number };
  return {
    width: Math.max(graph.width ?? 0, NODE_W + 24),
    height: Math.max(graph.height ?? 0, NODE_H + 24),
    nodes: view.nodes.map((n) => {
      const laid = g.node(n.name) as NodeLabel;
      return { name: n.name, x: laid.x ?? 0, y: laid.y ?? 0 };
    }),
    edges: edges.map((e, i) => {
      const laid = g.edge(e.from, e.to, String(i)) as EdgeLabel;
      return {
        key: `${e.from}.${e.fromPort}-${e.to}.${e.toPort}`,
        points: laid.points ?? [],
        label: typeof laid["label"] === "string" ? laid["label"] : "",
        x: laid.x ?? 0,
        y: laid.y ?? 0,
      };
    }),
  };
}

/**
 * A pipeline drawn as a DAG (SVG): a box per node with its name, stage type and policy, an arrow
 * per connection labelled with its ports and the type it carries; the node an error is about is
 * outlined in red. The table under it says the same in text.
 */
export function PipelineDag({ view }: { view: PipelineView }) {
  const laid = useMemo(() => layout(view), [view]);
  const byName = new Map(view.nodes.map((n) => [n.name, n]));
  const bad = view.error?.node ?? null;
  const path = (pts: Array<{ x: number; y: number }>) =>
    pts.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ");
  return (
    <div class="dag-wrap">
      <svg
        class="dag"
        viewBox={`0 0 ${laid.width} ${laid.height}`}
        width={laid.width}
        height={laid.height}
        role="img"
        aria-label={`Pipeline ${view.name}: ${view.nodes.length} nodes, ${view.edges.length} connections`}
      >
        <defs>
          <marker
            id="arrow"
            viewBox="0 0 10 10"
            refX="9"
            refY="5"
            markerWidth="7"
            markerHeight="7"
            orient="auto-start-reverse"
          >
            <path d="M0,0 L10,5 L0,10 z" fill="#4b5563" />
          </marker>
        </defs>
        {laid.edges.map((e) => (
          <g key={e.key} class="dag-edge">
            <path d={path(e.points)} fill="none" stroke="#6b7280" stroke-width="1.5" marker-end="url(#arrow)" />
            <text x={e.x} y={e.y + 4} text-anchor="middle" class="dag-edge-label">
              {e.label}
            </text>
          </g>
        ))}
        {laid.nodes.map((n) => {
          const node = byName.get(n.name)!;
          const policy = node.policy ? `${node.policy}: ${policySummary(view.policies[node.policy])}` : "no policy";
          return (
            <g key={n.name} class={`dag-node${bad === n.name ? " dag-node-bad" : ""}`} data-node={n.name}>
              <rect x={n.x - NODE_W / 2} y={n.y - NODE_H / 2} width={NODE_W} height={NODE_H} rx="6" />
              <text x={n.x} y={n.y - 10} text-anchor="middle" class="dag-name">
                {n.name}
                {node.checkpoint ? " ✓" : ""}
              </text>
              <text x={n.x} y={n.y + 6} text-anchor="middle" class="dag-type">
                {node.type}
              </text>
              <text x={n.x} y={n.y + 20} text-anchor="middle" class="dag-policy">
                {policy.length > 34 ? `${policy.slice(0, 33)}…` : policy}
              </text>
            </g>
          );
        })}
      </svg>
    </div>
  );
}
