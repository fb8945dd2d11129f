/**
 * Scale-out: sustained end-to-end documents/second in three deployments, each with its worker
 * processes started (and warmed) first and an ingesting process that admits a real corpus
 * through the gate, timed from admission start until the job ends:
 *
 * - embedded: the default SQLite ledger and embedded queue, one `sluice worker` process;
 * - PostgreSQL + BullMQ, one worker process;
 * - PostgreSQL + BullMQ, two worker processes.
 *
 * Each is run with the plain hash embedder (the engine's and the queue's own cost) and with a
 * CPU-heavy stand-in for a model (bench/scale/heavy-embedder.ts: each text embedded K times), so
 * that the cores, not the queue, are the limit. Reports the peak RSS of every process and the
 * ratios pg1/embedded and pg2/pg1. Prints readable lines, then one JSON object.
 *
 *   npm run bench:scale [-- --docs 20000 --heavy-docs 4000 --repeat 200 --concurrency 16 --keep
 *                          --only plain.pg1,plain.pg2]
 *
 * Sizes also come from the environment: SLUICE_BENCH_SCALE_DOCS, SLUICE_BENCH_SCALE_HEAVY_DOCS,
 * SLUICE_BENCH_EMBED_REPEAT; PostgreSQL and Redis from SLUICE_BENCH_DATABASE_URL and
 * SLUICE_BENCH_REDIS_URL (default: the local servers the tests use).
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { scaleCorpus, type ScaleCorpus } from "./scale/corpus.ts";
import { deploy, teardown, type Backend } from "./scale/deployments.ts";
import { machineCpu, MemorySampler, readCpuSeconds } from "./scale/proc.ts";

const env = process.env;
const { values } = parseArgs({
  options: {
    docs: { type: "string", default: env["SLUICE_BENCH_SCALE_DOCS"] ?? "20000" },
    "heavy-docs": { type: "string", default: env["SLUICE_BENCH_SCALE_HEAVY_DOCS"] ?? "4000" },
    repeat: { type: "string", default: env["SLUICE_BENCH_EMBED_REPEAT"] ?? "200" },
    concurrency: { type: "string", default: "16" },
    keep: { type: "boolean", default: false },
    /** Only these runs, e.g. `plain.embedded,heavy.pg2` (ratios need their pair). */
    only: { type: "string" },
  },
});
const CONCURRENCY = Number(values.concurrency);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = join(ROOT, "src", "cli", "main.ts");
const HEAVY_PRELOAD = join(ROOT, "bench", "scale", "heavy-embedder.ts");
const INGESTER = join(ROOT, "bench", "scale", "ingester.ts");
const MIB = 1024 * 1024;

interface Setup {
  key: "embedded" | "pg1" | "pg2";
  label: string;
  backend: Backend;
  workers: number;
}
const SETUPS: Setup[] = [
  { key: "embedded", label: "embedded (SQLite + embedded queue), 1 worker", backend: "embedded", workers: 1 },
  { key: "pg1", label: "PostgreSQL + BullMQ, 1 worker", backend: "postgres-bullmq", workers: 1 },
  { key: "pg2", label: "PostgreSQL + BullMQ, 2 workers", backend: "postgres-bullmq", workers: 2 },
];

interface Mode {
  key: "plain" | "heavy";
  label: string;
  docs: number;
  /** Times each text is embedded (1: the plain hash embedder). */
  repeat: number;
}
const MODES: Mode[] = [
  { key: "plain", label: "hash embedder", docs: Number(values.docs), repeat: 1 },
  {
    key: "heavy",
    label: `CPU-heavy embedder (hash x${values.repeat})`,
    docs: Number(values["heavy-docs"]),
    repeat: Number(values.repeat),
  },
];

/** What the ingester reports at the end (bench/scale/ingester.ts). */
interface IngestResult {
  state: string;
  total: number;
  done: number;
  failed: number;
  indexed: number;
  chunks: number;
  deadLetters: number;
  admitSeconds: number;
  seconds: number;
  /** CPU the ingester used from admission start to the job's end. */
  cpuSeconds: number;
  firstDoneSeconds: number | null;
  steadyDocsPerS: number | null;
}

interface RunResult {
  docs_per_s: number;
  steady_docs_per_s: number | null;
  seconds: number;
  admit_seconds: number;
  admit_docs_per_s: number;
  first_done_s: number | null;
  docs: number;
  done: number;
  failed: number;
  indexed: number;
  /** Chunks indexed: texts the embedder saw. */
  chunks: number;
  lost: number;
  state: string;
  /** CPU of each worker over the measured window, in % of one core. */
  worker_cpu_pct: number[];
  /** CPU all workers together spent per document, in ms. */
  worker_cpu_ms_per_doc: number;
  ingester_cpu_pct: number;
  /** The whole machine's CPU over the measured window, in % of all cores. */
  machine_cpu_pct: number;
  peak_rss_mib: { ingester: number; workers: number[] };
  /** The machine's CPU in the second before the workers started (other load), in % of all cores. */
  background_cpu_pct: number;
  /** Worker log lines at warn or above, or not from the logger (stack traces, Node warnings). */
  worker_log_problems: number;
  /** How each worker ended after SIGTERM: `0`, `code N`, `signal X`, or `killed` (did not stop in 30 s). */
  worker_exit: string[];
}

const round = (x: number, digits = 1) => Number(x.toFixed(digits));
const pct = (x: number) => round(x * 100, 0);

function startWorker(data: string, config: string, mode: Mode, log: string): ChildProcess {
  const fd = openSync(log, "w");
  const preload = mode.repeat > 1 ? ["--import", HEAVY_PRELOAD] : [];
  const child = spawn(
    process.execPath,
    ["--import", "tsx", ...preload, MAIN, "--data", data, "--config", config, "worker"],
    {
      cwd: ROOT,
      env: {
        ...env,
        SLUICE_BENCH_EMBED_REPEAT: String(mode.repeat),
        SLUICE_LOG_LEVEL: env["SLUICE_LOG_LEVEL"] ?? "warn",
      },
      stdio: ["ignore", fd, fd],
    },
  );
  closeSync(fd);
  return child;
}

/** Resolves once every process has stopped using much CPU (started and polling an empty queue). */
async function untilSettled(children: ChildProcess[], logs: string[]): Promise<void> {
  const deadline = Date.now() + 60_000;
  let before = children.map((c) => readCpuSeconds(c.pid!));
  for (;;) {
    await sleep(500);
    const now = children.map((c) => readCpuSeconds(c.pid!));
    const gone = now.findIndex((cpu, i) => cpu === null || children[i]!.exitCode !== null);
    if (gone >= 0) throw new Error(`worker ${gone + 1} exited while starting:\n${tail(logs[gone]!)}`);
    // Under 20% of a core over half a second: past loading, polling.
    if (now.every((cpu, i) => cpu! - before[i]! < 0.1)) return;
    if (Date.now() > deadline) throw new Error("workers still busy 60 s after starting, with nothing to do");
    before = now;
  }
}

function tail(path: string, lines = 20): string {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Log lines at warn or above (pino level ≥ 40) or not from the logger at all. */
function problems(path: string): string[] {
  let text = "";
  try {
    text = readFileSync(path, "utf8");
  } catch {
    return [];
  }
  return text.split("\n").filter((line) => {
    if (!line.trim()) return false;
    try {
      return ((JSON.parse(line) as { level?: number }).level ?? 60) >= 40;
    } catch {
      return true;
    }
  });
}

async function stop(child: ChildProcess): Promise<string> {
  if (child.exitCode !== null || child.signalCode !== null)
    return child.exitCode !== null
      ? `exited early, code ${child.exitCode}`
      : `exited early, signal ${child.signalCode}`;
  const closed = new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.once("exit", (code, signal) => resolve([code, signal])),
  );
  child.kill("SIGTERM");
  const ended = await Promise.race([closed, sleep(30_000).then(() => null)]);
  if (!ended) {
    child.kill("SIGKILL");
    await closed;
    return "killed";
  }
  const [code, signal] = ended;
  return signal ? `signal ${signal}` : code === 0 ? "0" : `code ${code}`;
}

/** Runs the ingester; `onEvent` sees its `warm` and `measuring` lines as they come. */
function ingest(
  data: string,
  config: string,
  corpus: string,
  onStart: (pid: number) => void,
  onEvent: (event: string) => void,
): Promise<IngestResult> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", INGESTER, "--data", data, "--config", config, "--corpus", corpus],
    { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] },
  );
  onStart(child.pid!);
  let stderr = "";
  let result: IngestResult | null = null;
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const event = JSON.parse(line) as { event: string } & IngestResult;
    if (event.event === "result") result = event;
    else onEvent(event.event);
  });
  return new Promise((resolve, reject) => {
    child.once("close", (code) => {
      if (code === 0 && result) resolve(result);
      else
        reject(new Error(`ingester exited with code ${code}:\n${stderr.trimEnd().split("\n").slice(-20).join("\n")}`));
    });
  });
}

async function run(setup: Setup, mode: Mode, corpus: ScaleCorpus): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), `sluice-scale-${mode.key}-${setup.key}-`));
  const data = join(dir, "data");
  const deployment = await deploy(dir, setup.backend, CONCURRENCY);
  const sampler = new MemorySampler(250);
  const logs = Array.from({ length: setup.workers }, (_, i) => join(dir, `worker-${i + 1}.log`));
  const workers: ChildProcess[] = [];
  const idle0 = machineCpu();
  await sleep(1000);
  const idle1 = machineCpu();
  const background = pct((idle1.busy - idle0.busy) / Math.max(1, idle1.total - idle0.total));
  try {
    for (let i = 0; i < setup.workers; i++) {
      workers.push(startWorker(data, deployment.configPath, mode, logs[i]!));
      sampler.watch(`worker-${i + 1}`, workers[i]!.pid!);
    }
    await untilSettled(workers, logs);
    const snapshot = () => ({
      workers: workers.map((w) => readCpuSeconds(w.pid!) ?? 0),
      machine: machineCpu(),
      at: performance.now(),
    });
    const window: { start?: ReturnType<typeof snapshot> } = {};
    const result = await ingest(
      data,
      deployment.configPath,
      corpus.path,
      (pid) => sampler.watch("ingester", pid),
      (event) => {
        if (event === "measuring") window.start = snapshot();
      },
    );
    // The workers' CPU and memory before they stop (VmHWM cannot be read after exit); the
    // ingester's peak was sampled while it ran.
    const end = snapshot();
    sampler.sample();
    const exits = await Promise.all(workers.map((w) => stop(w)));
    const found = logs.map((l) => problems(l));
    const start = window.start ?? end;
    const wall = Math.max(1e-3, (end.at - start.at) / 1000);
    const lost = result.total - result.indexed;
    for (const [i, lines] of found.entries()) {
      if (lines.length > 0)
        process.stderr.write(
          `  worker ${i + 1} of ${mode.key}/${setup.key} logged ${lines.length} problem line(s); first ones:\n    ${lines.slice(0, 5).join("\n    ")}\n`,
        );
    }
    return {
      docs_per_s: round(result.total / result.seconds),
      steady_docs_per_s: result.steadyDocsPerS === null ? null : round(result.steadyDocsPerS),
      seconds: round(result.seconds, 2),
      admit_seconds: round(result.admitSeconds, 2),
      admit_docs_per_s: round(result.total / result.admitSeconds),
      first_done_s: result.firstDoneSeconds === null ? null : round(result.firstDoneSeconds, 2),
      docs: result.total,
      done: result.done,
      failed: result.failed,
      indexed: result.indexed,
      chunks: result.chunks,
      lost,
      state: result.state,
      worker_cpu_pct: end.workers.map((c, i) => pct((c - start.workers[i]!) / wall)),
      worker_cpu_ms_per_doc: round(
        (end.workers.reduce((a, c, i) => a + c - start.workers[i]!, 0) * 1000) / Math.max(1, result.total),
        2,
      ),
      ingester_cpu_pct: pct(result.cpuSeconds / result.seconds),
      machine_cpu_pct: pct(
        (end.machine.busy - start.machine.busy) / Math.max(1, end.machine.total - start.machine.total),
      ),
      peak_rss_mib: {
        ingester: round(sampler.peak("ingester").hwmBytes / MIB),
        workers: workers.map((_, i) => round(sampler.peak(`worker-${i + 1}`).hwmBytes / MIB)),
      },
      background_cpu_pct: background,
      worker_log_problems: found.reduce((a, l) => a + l.length, 0),
      worker_exit: exits,
    };
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill("SIGKILL");
    sampler.stop();
    await teardown(deployment).catch((err: unknown) =>
      process.stderr.write(`  cleanup of ${setup.key} failed: ${(err as Error).message}\n`),
    );
    if (values.keep) process.stderr.write(`  kept ${dir}\n`);
    else rmSync(dir, { recursive: true, force: true });
  }
}

/** CPU time of one text through the stand-in: the plain hash embedder's, times `repeat`. */
function embedMsPerText(corpus: string, repeat: number): number {
  const texts = readFileSync(corpus, "utf8")
    .split("\n")
    .filter(Boolean)
    .slice(0, 500)
    .map((l) => (JSON.parse(l) as { text: string }).text);
  const embedder = new HashEmbedder({ dimensions: 256 });
  for (const t of texts) embedder.embedOne(t);
  const started = performance.now();
  for (const t of texts) embedder.embedOne(t);
  return ((performance.now() - started) / texts.length) * repeat;
}

function line(mode: Mode, setup: Setup, r: RunResult): string {
  const rss = `peak RSS ingester ${r.peak_rss_mib.ingester.toFixed(0)} MiB, worker${r.peak_rss_mib.workers.length > 1 ? "s" : ""} ${r.peak_rss_mib.workers.map((m) => m.toFixed(0)).join(" + ")} MiB`;
  const health =
    r.failed > 0 || r.lost > 0 || r.state !== "COMPLETED" ? `, ${r.state}, ${r.failed} failed, ${r.lost} lost` : "";
  return (
    `${mode.key.padEnd(5)} ${setup.label}: ${r.docs} docs (${r.chunks} chunks) in ${r.seconds.toFixed(1)} s → ${r.docs_per_s.toFixed(0)} docs/s` +
    ` (middle 80%: ${r.steady_docs_per_s?.toFixed(0) ?? "?"}/s); admitted in ${r.admit_seconds.toFixed(1)} s (${r.admit_docs_per_s.toFixed(0)}/s)${health};` +
    ` CPU worker ${r.worker_cpu_pct.map((p) => `${p}%`).join(" + ")} (${r.worker_cpu_ms_per_doc.toFixed(1)} ms/doc), ingester ${r.ingester_cpu_pct}%, machine ${r.machine_cpu_pct}%; ${rss}`
  );
}

const ratio = (a: RunResult | undefined, b: RunResult | undefined) =>
  a && b ? round(a.docs_per_s / b.docs_per_s, 2) : null;

const cores = availableParallelism();
const report: Record<string, unknown> = { cores, concurrency: CONCURRENCY, embed_repeat: MODES[1]!.repeat };
const failures: string[] = [];
const results = new Map<string, RunResult>();
const notes: string[] = [];
for (const mode of MODES) {
  if (values.only && !values.only.split(",").some((k) => k.startsWith(`${mode.key}.`))) continue;
  const corpus = await scaleCorpus(mode.docs);
  if (corpus.source === "generated")
    notes.push(`${mode.key}: the Debian corpus could not be had (${corpus.problem}); a generated corpus was used`);
  report["corpus"] = corpus.source;
  if (mode.key === "heavy") {
    const ms = embedMsPerText(corpus.path, mode.repeat);
    report["embed_ms_per_text"] = round(ms, 2);
    console.log(
      `CPU-heavy stand-in: each text embedded ${mode.repeat} times ≈ ${ms.toFixed(2)} ms of CPU per text (the plain hash embedder: ${(ms / mode.repeat).toFixed(3)} ms)`,
    );
  } else {
    console.log(
      `corpus: ${mode.docs} (plain) and ${MODES[1]!.docs} (CPU-heavy) ${corpus.source === "debian" ? "Debian package descriptions" : "generated documents"}; ${cores} cores; ingest.concurrency ${CONCURRENCY} per worker; locks.collections off`,
    );
  }
  for (const setup of SETUPS) {
    if (values.only && !values.only.split(",").includes(`${mode.key}.${setup.key}`)) continue;
    process.stderr.write(`running ${mode.key} / ${setup.label} (${mode.docs} docs)…\n`);
    try {
      const r = await run(setup, mode, corpus);
      results.set(`${mode.key}.${setup.key}`, r);
      console.log(line(mode, setup, r));
      if (r.state !== "COMPLETED" || r.failed > 0 || r.lost > 0)
        failures.push(`${mode.key}/${setup.key}: job ${r.state}, ${r.failed} failed, ${r.lost} not indexed`);
      if (r.background_cpu_pct > 15)
        notes.push(
          `${mode.key}/${setup.key}: other processes used ${r.background_cpu_pct}% of the machine just before it ran`,
        );
      if (r.worker_log_problems > 0)
        notes.push(`${mode.key}/${setup.key}: workers logged ${r.worker_log_problems} problem line(s)`);
      if (r.worker_exit.some((e) => e !== "0"))
        failures.push(`${mode.key}/${setup.key}: workers ended ${r.worker_exit.join(", ")} after SIGTERM`);
    } catch (error) {
      failures.push(`${mode.key}/${setup.key}: ${(error as Error).message}`);
      console.log(`${mode.key.padEnd(5)} ${setup.label}: FAILED: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  const [embedded, pg1, pg2] = SETUPS.map((s) => results.get(`${mode.key}.${s.key}`));
  const section = {
    docs: mode.docs,
    embedded: embedded ?? null,
    pg1: pg1 ?? null,
    pg2: pg2 ?? null,
    pg1_over_embedded: ratio(pg1, embedded),
    pg2_over_pg1: ratio(pg2, pg1),
  };
  report[mode.key] = section;
  console.log(
    `${mode.key.padEnd(5)} ratios (${mode.label}): pg1/embedded ${section.pg1_over_embedded ?? "?"}, pg2/pg1 ${section.pg2_over_pg1 ?? "?"}`,
  );
}

const heavy = (report["heavy"] ?? { pg1_over_embedded: null, pg2_over_pg1: null }) as {
  pg1_over_embedded: number | null;
  pg2_over_pg1: number | null;
};
const target = (value: number | null, min: number) => ({ min, value, met: value !== null && value >= min });
const targets = {
  heavy_pg1_over_embedded: target(heavy.pg1_over_embedded, 0.5),
  heavy_pg2_over_pg1: target(heavy.pg2_over_pg1, 1.6),
};
console.log(
  `targets (CPU-heavy): pg1/embedded ≥ 0.5: ${targets.heavy_pg1_over_embedded.value ?? "?"} ${targets.heavy_pg1_over_embedded.met ? "met" : "NOT MET"}; ` +
    `pg2/pg1 ≥ 1.6: ${targets.heavy_pg2_over_pg1.value ?? "?"} ${targets.heavy_pg2_over_pg1.met ? "met" : "NOT MET"}`,
);
for (const n of notes) console.log(`note: ${n}`);
for (const f of failures) console.log(`problem: ${f}`);
if (failures.length > 0) process.exitCode = 1;
// The JSON keeps each problem's first lines; the readable lines above have them whole.
const brief = (text: string) => text.split("\n").slice(0, 4).join(" | ").slice(0, 400);
console.log(JSON.stringify({ ...report, targets, notes, problems: failures.map(brief) }));
