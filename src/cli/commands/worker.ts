import type { Command } from "commander";
import { withSluice } from "../context.ts";

export function registerWorker(program: Command): void {
  program
    .command("worker")
    .description("run pending jobs from the ledger (started for you by `ingest` without --wait)")
    .option("--exit-when-idle", "exit when no job is left")
    .action(async (opts: { exitWhenIdle?: boolean }, command: Command) => {
      await withSluice(command, async (sluice) => {
        const stop = new AbortController();
        process.once("SIGTERM", () => stop.abort());
        process.once("SIGINT", () => stop.abort());
        await sluice.work({ signal: stop.signal, exitWhenIdle: opts.exitWhenIdle ?? false });
      });
    });
}
