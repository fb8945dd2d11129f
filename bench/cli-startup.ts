/**
 * How long the CLI takes from a new process to its answer: `sluice --help`, and a cold
 * `sluice query` on the bundled docs (a new process each time, with the default in-process
 * embedder, so the model loads every time; the OS file cache is warm). Measured for the compiled
 * bin (`bin/sluice.js` → dist/), for the TypeScript sources through tsx (development), and, with
 * `--before <checkout>`, for another checkout's bin side by side (e.g. a worktree of the commit
 * before the change: `git worktree add /tmp/before <commit>` and link its node_modules).
 * Prints readable lines, then one JSON object.
 *
 *   npm run bench:cli-startup [-- --runs 7 --before /tmp/before]
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const { values } = parseArgs({ options: { runs: { type: "string", default: "7" }, before: { type: "string" } } });
const RUNS = Number(values.runs);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const QUESTION = "how do I resume a failed job?";

interface Variant {
  name: string;
  argv: string[];
}

const variants: Variant[] = [
  { name: "compiled", argv: [join(ROOT, "bin", "sluice.js")] },
  { name: "tsx", argv: ["--import", "tsx", join(ROOT, "src", "cli", "main.ts")] },
];
if (values.before) variants.push({ name: "before", argv: [join(values.before, "bin", "sluice.js")] });

function timed(argv: string[]): number {
  const started = process.hrtime.bigint();
  const run = spawnSync(process.execPath, argv, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (run.status !== 0) throw new Error(`${argv.join(" ")} exited ${run.status}: ${run.stderr}`);
  return ms;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const data = mkdtempSync(join(tmpdir(), "sluice-cli-startup-"));
try {
  timed([join(ROOT, "bin", "sluice.js"), "--data", data, "ingest", join(ROOT, "docs"), "--wait", "--json"]);
  const commands: Record<string, string[]> = {
    help: ["--help"],
    query: ["--data", data, "query", QUESTION],
    "query-lexical": ["--data", data, "query", QUESTION, "--mode", "lexical"],
  };
  const results: Record<string, Record<string, number>> = {};
  console.log(`node ${process.version}, ${RUNS} runs each, median ms (a new process per run)`);
  for (const [command, args] of Object.entries(commands)) {
    results[command] = {};
    for (const variant of variants) {
      timed([...variant.argv, ...args]); // first run fills the OS file cache
      const ms = median(Array.from({ length: RUNS }, () => timed([...variant.argv, ...args])));
      results[command][variant.name] = Math.round(ms);
    }
    const row = results[command];
    const ratios = variants
      .slice(1)
      .map((v) => `${v.name}/compiled ${(row[v.name]! / row["compiled"]!).toFixed(2)}×`)
      .join(", ");
    console.log(`${command.padEnd(14)} ${variants.map((v) => `${v.name} ${row[v.name]} ms`).join("  ")}  (${ratios})`);
  }
  console.log(JSON.stringify({ node: process.version, runs: RUNS, medianMs: results }));
} finally {
  rmSync(data, { recursive: true, force: true });
}
