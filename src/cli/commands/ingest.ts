import { spawn } from "node:child_process";
import { openSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Command } from "commander";
import { SluiceError } from "../../contracts/errors.ts";
import type { Job } from "../../contracts/index.ts";
import { LANES, type Lane } from "../../contracts/spool.ts";
import type { Sluice } from "../../engine/sluice.ts";
import { withSluice, type GlobalOptions } from "../context.ts";
import { printJson, println } from "../output.ts";
import { createProgress } from "../progress.ts";

/**
 * Starts a detached worker that runs pending jobs and exits when none is left. It runs the way
 * this process runs: the same entry script (`bin/sluice.js`, or `src/cli/main.ts` under tsx in
 * development) with the same Node flags.
 */
export function spawnWorker(dataDir: string, configPath?: string): void {
  mkdirSync(dataDir, { recursive: true });
  const log = openSync(join(dataDir, "worker.log"), "a");
  const entry = process.argv[1] ?? fileURLToPath(new URL("../main.js", import.meta.url));
  const args = [
    ...process.execArgv,
    entry,
    "--data",
    dataDir,
    ...(configPath ? ["--config", configPath] : []),
    "worker",
    "--exit-when-idle",
  ];
  const child = spawn(process.execPath, args, { detached: true, stdio: ["ignore", log, log] });
  child.unref();
}

/**
 * Runs a job in this process with a progress bar, then prints what happened to it. `start`
 * creates or resumes the job; it gets an `onJob` hook so the worker can start draining while
 * documents are still being admitted (a producer paused by backpressure needs a consumer).
 */
export async function runAndReport(
  sluice: Sluice,
  g: GlobalOptions,
  start: (onJob: (job: Job) => void) => Promise<Job>,
): Promise<number> {
  const progress = await createProgress(!g.json);
  const interrupt = new AbortController();
  const onSignal = () => interrupt.abort();
  process.once("SIGINT", onSignal);
  const started = performance.now();
  let running: Promise<Job> | null = null;
  let final: Job;
  try {
    const job = await start((j) => {
      running = sluice.runJob(j.id, { onDocument: (p) => progress.onDocument(p), signal: interrupt.signal });
    });
    progress.setTotal(job.total - job.done - job.failed);
    final = await (running ??
      sluice.runJob(job.id, { onDocument: (p) => progress.onDocument(p), signal: interrupt.signal }));
  } finally {
    progress.stop();
    process.off("SIGINT", onSignal);
  }
  const detail = await sluice.getJob(final.id, { documents: true });
  const failures = (detail.documents ?? [])
    .filter((d) => d.state === "FAILED")
    .map((d) => ({ docId: d.docId, source: d.source, error: d.error }));
  const seconds = (performance.now() - started) / 1000;
  if (g.json) {
    printJson({ jobId: final.id, ...final, seconds: Number(seconds.toFixed(3)), failures });
  } else {
    const outcomes = new Map<string, number>();
    for (const d of detail.documents ?? []) if (d.outcome) outcomes.set(d.outcome, (outcomes.get(d.outcome) ?? 0) + 1);
    const summary = [...outcomes].map(([o, n]) => `${n} ${o}`).join(", ");
    println(
      `job ${final.id} ${final.state}: ${final.done}/${final.total} documents indexed${summary ? ` (${summary})` : ""}, ${final.failed} failed, in ${seconds.toFixed(1)} s`,
    );
    for (const f of failures.slice(0, 20)) println(`  failed ${f.source}: ${f.error?.code} ${f.error?.message}`);
    if (failures.length > 20) println(`  … and ${failures.length - 20} more (sluice jobs ${final.id} --json)`);
    if (final.state === "PENDING" || final.state === "PROCESSING")
      println(`interrupted; continue with: sluice jobs resume ${final.id} --wait`);
  }
  return final.state === "COMPLETED" ? 0 : 1;
}

export function registerIngest(program: Command): void {
  program
    .command("ingest")
    .description("ingest files, directories, globs, BEIR .jsonl files, or a scholarly source, into a collection")
    .argument("[paths...]", "files, directories, globs, or .jsonl in BEIR form")
    .option("-c, --collection <name>", "collection", "default")
    .option("-p, --pipeline <name|file>", "pipeline name or YAML file", "auto")
    .option("-l, --lane <lane>", `spool lane: ${LANES.join(" | ")}`, "normal")
    .option("-w, --wait", "run the job in this process and wait for it (default: hand it to a background worker)")
    .option("--source <type>", "a scholarly source instead of paths: clinicaltrials | openalex | pmc | unpaywall")
    .option("--query <text>", "the source's free-text search")
    .option("--ids <list>", "comma-separated record ids instead of a search (NCT…, W…, PMC…, DOIs)")
    .option("--since <date>", "only records changed since this date (default: where the last run of the query ended)")
    .option("--limit <n>", "records at most in this run")
    .option("--page-size <n>", "records per API call (default: the source's own)")
    .option("--param <key=value...>", "further API parameters, passed as they are (e.g. query.cond=asthma)")
    .action(
      async (
        paths: string[],
        opts: { collection: string; pipeline: string; lane: string; wait?: boolean } & SourceOptions,
        command: Command,
      ) => {
        process.exitCode = await withSluice(command, async (sluice, g) => {
          if (!(LANES as readonly string[]).includes(opts.lane))
            throw new SluiceError("VALIDATION_FAILED", `unknown lane "${opts.lane}"; lanes: ${LANES.join(", ")}`);
          if (opts.source !== undefined) return ingestSource(sluice, g, paths, opts);
          if (paths.length === 0)
            throw new SluiceError("VALIDATION_FAILED", "give paths to ingest, or --source <type>");
          const request = { collection: opts.collection, paths, pipeline: opts.pipeline, lane: opts.lane as Lane };
          if (opts.wait) return runAndReport(sluice, g, (onJob) => sluice.submitPaths(request, { onJob }));
          // The worker starts first: if the spool is full, admission pauses until it drains.
          const job = await sluice.submitPaths(request, { onJob: () => spawnWorker(sluice.dataDir, g.config) });
          if (g.json) printJson({ jobId: job.id, ...job });
          else println(`job ${job.id} ${job.state}: ${job.total} documents queued; follow with: sluice jobs ${job.id}`);
          return 0;
        });
      },
    );
}

interface SourceOptions {
  source?: string;
  query?: string;
  ids?: string;
  since?: string;
  limit?: string;
  pageSize?: string;
  param?: string[];
}

function positiveInteger(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!(Number.isInteger(n) && n > 0))
    throw new SluiceError("VALIDATION_FAILED", `${flag} must be a positive integer, got "${value}"`);
  return n;
}

/** The source spec the flags describe (checked in full by the engine). */
function sourceSpec(opts: SourceOptions): Record<string, unknown> {
  const params: Record<string, string> = {};
  for (const pair of opts.param ?? []) {
    const at = pair.indexOf("=");
    if (at <= 0) throw new SluiceError("VALIDATION_FAILED", `--param must be key=value, got "${pair}"`);
    params[pair.slice(0, at)] = pair.slice(at + 1);
  }
  const limit = positiveInteger("--limit", opts.limit);
  const pageSize = positiveInteger("--page-size", opts.pageSize);
  return {
    type: opts.source,
    ...(opts.query !== undefined ? { query: opts.query } : {}),
    ...(opts.ids !== undefined
      ? {
          ids: opts.ids
            .split(",")
            .map((s) => s.trim())
            .filter(Boolean),
        }
      : {}),
    ...(opts.since !== undefined ? { since: opts.since } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(pageSize !== undefined ? { pageSize } : {}),
    ...(Object.keys(params).length > 0 ? { params } : {}),
  };
}

/** `sluice ingest --source …`: one source run into a job, run here (--wait) or by a background worker. */
async function ingestSource(
  sluice: Sluice,
  g: GlobalOptions,
  paths: string[],
  opts: { collection: string; pipeline: string; lane: string; wait?: boolean } & SourceOptions,
): Promise<number> {
  if (paths.length > 0) throw new SluiceError("VALIDATION_FAILED", "give paths or --source, not both");
  const request = {
    collection: opts.collection,
    source: sourceSpec(opts),
    pipeline: opts.pipeline,
    lane: opts.lane as Lane,
  };
  const report = (run: { fetched: number; skipped: unknown[]; cursor: string | null; resumedFrom: string | null }) => {
    if (g.json) return;
    const resumed = run.resumedFrom !== null ? ", resumed where the last run stopped" : "";
    const more = run.cursor !== null ? "; more remain: run the same command again to continue" : "";
    process.stderr.write(
      `source ${opts.source}: ${run.fetched} records fetched, ${run.skipped.length} without text${resumed}${more}\n`,
    );
  };
  if (opts.wait) {
    return runAndReport(sluice, g, async (onJob) => {
      const run = await sluice.submitSource(request, { onJob });
      report(run);
      return run;
    });
  }
  const job = await sluice.submitSource(request, { onJob: () => spawnWorker(sluice.dataDir, g.config) });
  report(job);
  if (g.json) printJson({ jobId: job.id, ...job });
  else println(`job ${job.id} ${job.state}: ${job.total} documents queued; follow with: sluice jobs ${job.id}`);
  return 0;
}
