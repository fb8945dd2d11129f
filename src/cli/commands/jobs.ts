import type { Command } from "commander";
import type { Job } from "../../contracts/index.ts";
import { withSluice } from "../context.ts";
import { printJson, println } from "../output.ts";
import { runAndReport, spawnWorker } from "./ingest.ts";

function line(job: Job): string {
  const stage = job.currentStage ? ` @${job.currentStage}` : "";
  return `${job.id}  ${job.state.padEnd(10)}${stage}  ${job.collection}  ${job.done}/${job.total} done, ${job.failed} failed  ${job.updatedAt}${job.error ? `  (${job.error})` : ""}`;
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
        for (const d of job.documents ?? []) {
          if (d.state !== "COMPLETED") println(`  ${d.state.padEnd(10)} ${d.source}${d.error ? `  ${d.error.code}: ${d.error.message}` : ""}`);
        }
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
        else println(line(job));
        return 0;
      });
    });
}
