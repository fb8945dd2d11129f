/**
 * Where the engine's own time goes: the default pipeline with the hash embedder (no model cost)
 * on the benchmark corpus, under V8's CPU profiler. Prints a top-down call tree (a flame graph as
 * text: each line a frame with its share of the run, children indented, frames under `--min` %
 * folded away), then the functions with the most self time. `--out FILE` also writes the
 * .cpuprofile, which Chrome DevTools or speedscope open as a flame graph.
 *
 *   npm run bench:profile [-- --docs 5000 --min 1.5 --out engine.cpuprofile]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { benchCorpus } from "./corpus.ts";

const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "5000" },
    min: { type: "string", default: "1.5" },
    out: { type: "string" },
  },
});
const n = Number(values.docs);
const minShare = Number(values.min) / 100;

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const corpus = await benchCorpus(n);
const dir = mkdtempSync(join(tmpdir(), "sluice-profile-"));
const session = new Session();
session.connect();
try {
  const sluice = await Sluice.open({
    dataDir: dir,
    config: parseConfig({ embedder: { backend: "hash", dimensions: 256 } }),
  });
  await session.post("Profiler.enable");
  await session.post("Profiler.setSamplingInterval", { interval: 200 });
  await session.post("Profiler.start");
  const started = performance.now();
  const job = await sluice.submitPaths({ collection: "bench", paths: [corpus] });
  const done = await sluice.runJob(job.id);
  const seconds = (performance.now() - started) / 1000;
  const { profile } = (await session.post("Profiler.stop")) as { profile: Profile };
  await sluice.close();
  if (values.out) writeFileSync(values.out, JSON.stringify(profile));
  console.log(
    `engine only (hash embedder): ${done.done}/${n} documents in ${seconds.toFixed(1)} s → ${(n / seconds).toFixed(0)} docs/s (under the profiler)`,
  );
  report(profile);
} finally {
  session.disconnect();
  rmSync(dir, { recursive: true, force: true });
}

function label(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url.replace(/^.*\/(node_modules|src)\//, "$1/").replace(/^file:\/\//, "");
  return `${functionName || "(anonymous)"}${where ? ` ${where}:${lineNumber + 1}` : ""}`;
}

function report(profile: Profile): void {
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const self = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(id, (self.get(id) ?? 0) + dt);
    total += dt;
  });
  const inclusive = new Map<number, number>();
  const sum = (id: number): number => {
    const node = byId.get(id)!;
    const t = (node.children ?? []).reduce((acc, child) => acc + sum(child), self.get(id) ?? 0);
    inclusive.set(id, t);
    return t;
  };
  const root = profile.nodes[0]!;
  sum(root.id);
  const pct = (t: number) => `${((100 * t) / total).toFixed(1).padStart(5)}%`;

  console.log(`\ncall tree (frames ≥ ${(minShare * 100).toFixed(1)}% of ${(total / 1e6).toFixed(2)} s):`);
  const walk = (id: number, depth: number) => {
    const children = (byId.get(id)!.children ?? [])
      .filter((c) => (inclusive.get(c) ?? 0) >= minShare * total)
      .sort((a, b) => inclusive.get(b)! - inclusive.get(a)!);
    for (const child of children) {
      console.log(`${pct(inclusive.get(child)!)} ${"  ".repeat(depth)}${label(byId.get(child)!)}`);
      walk(child, depth + 1);
    }
  };
  walk(root.id, 0);

  const selfByLabel = new Map<string, number>();
  for (const [id, t] of self) {
    const key = label(byId.get(id)!);
    selfByLabel.set(key, (selfByLabel.get(key) ?? 0) + t);
  }
  console.log("\nmost self time:");
  for (const [key, t] of [...selfByLabel].sort((a, b) => b[1] - a[1]).slice(0, 20)) console.log(`${pct(t)} ${key}`);
}
