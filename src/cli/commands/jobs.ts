import type { Command } from "commander";
import type { Job } from "../../contracts/index.ts";
import type { Sluice } from "../../engine/sluice.ts";
import { withSluice } from "../context.ts";
import { printJson, println } from "../output.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { runAndReport, spawnWorker } from "./ingest.ts";

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `12h`, `7d`, `500ms` or a plain number of milliseconds. */
function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m)
    throw new SluiceError(
      "VALIDATION_FAILED",
      `--older-than: expected a duration like 90s, 30m, 12h or 7d, got "${text}"`,
    );
  return Math.round(Number(m[1]) * UNITS[m[2] ?? "ms"]!);
}

function line(job: Job): string {
  const stage = job.currentStage ? ` @${job.currentStage}` : "";
  return `${job.id}  ${job.state.padEnd(10)}${stage}  ${job.collection}  ${job.done}/${job.total} done, ${job.failed} failed${job.waiting > 0 ? `, ${job.waiting} waiting` : ""}  ${job.updatedAt}${job.error ? `  (${job.error})` : ""}`;
}

/**
 * `  pipeline: auto@3f2a9c1d0b7e (snapshot; the file has changed since, now auto@0b7e3f2a9c1d)` when
 * the job's pipeline file is no longer the version the job was created with (and runs); else null.
 */
async function pipelineNote(sluice: Sluice, job: Job): Promise<string | null> {
  if (!job.pipelineVersion) return null;
  const now = await sluice.pipelineFileVersion(job.pipeline);
  if (now === job.pipelineVersion) return null;
  const why = now ? `the file has changed since, now ${now}` : "the file is gone since";
  return `  pipeline: ${job.pipelineVersion} (snapshot; ${why})`;
}

export function registerJobs(program: Command): void {
  const jobs = program
    .command("jobs")
    .description("list jobs, show one, cancel or resume")
    .argument("[id]", "job id")
    .option("--stages", "with --json, include per-stage records for each document")
    .action(async (id: string | undefined, opts: { stages?: boolean }, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        if (!id) {
          const all = await sluice.listJobs();
          if (g.json) return printJson({ jobs: all });
          if (all.length === 0) return println("no jobs");
          for (const job of all) println(line(job));
          return;
        }
        const job = await sluice.getJob(id, { documents: true, stages: opts.stages ?? false });
        if (g.json) return printJson(job);
        println(line(job));
        const note = await pipelineNote(sluice, job);
        if (note) println(note);
        for (const d of job.documents ?? []) {
          if (d.state === "COMPLETED") continue;
          const why = d.error
            ? `  ${d.error.code}: ${d.error.message}`
            : d.waiting
              ? `  waiting${d.waiting.stage ? ` at ${d.waiting.stage}` : ""}: ${d.waiting.reason}`
              : "";
          println(`  ${d.state.padEnd(10)} ${d.source}${why}`);
        }
      });
    });

  jobs
    .command("prune")
    .description(
      "delete finished jobs and their document records past the retention (jobs.retentionMs, default 24 h); the index is not touched",
    )
    .option("--older-than <duration>", "instead of the retention: 90s, 30m, 12h, 7d; 0 prunes every finished job")
    .action(async (opts: { olderThan?: string }, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const olderThanMs =
          opts.olderThan === undefined ? sluice.config.jobs.retentionMs : parseDuration(opts.olderThan);
        if (opts.olderThan === undefined && olderThanMs === 0) {
          if (g.json) return printJson({ pruned: 0, retentionMs: 0 });
          return println("jobs.retentionMs is 0: every job is kept (use --older-than to prune anyway)");
        }
        const pruned = await sluice.pruneJobs(olderThanMs);
        if (g.json) printJson({ pruned, olderThanMs });
        else println(`pruned ${pruned} finished job(s) older than ${Math.round(olderThanMs / 1000)} s`);
      });
    });

  jobs
    .command("cancel")
    .description("cancel a job: work stops between stages and documents; nothing half-written stays")
    .argument("<id>", "job id")
    .action(async (id: string, _opts: unknown, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const job = await sluice.cancelJob(id);
        if (g.json) printJson(job);
        else println(line(job));
      });
    });

  jobs
    .command("resume")
    .description("re-run what did not complete: failed, cancelled and interrupted documents")
    .argument("<id>", "job id")
    .option("-w, --wait", "run it in this process and wait")
    .action(async (id: string, opts: { wait?: boolean }, command: Command) => {
      process.exitCode = await withSluice(command, async (sluice, g) => {
        if (opts.wait) return runAndReport(sluice, g, () => sluice.resumeJob(id));
        const job = await sluice.resumeJob(id);
        spawnWorker(sluice.dataDir, g.config);
        if (g.json) printJson(job);
        else {
          println(line(job));
          const note = await pipelineNote(sluice, job);
          if (note) println(note);
        }
        return 0;
      });
    });
}
