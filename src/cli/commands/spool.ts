import type { Command } from "commander";
import { SluiceError } from "../../contracts/errors.ts";
import { withSluice } from "../context.ts";
import { printJson, println } from "../output.ts";

function parseSeq(text: string): number {
  const seq = Number(text);
  if (!Number.isInteger(seq) || seq < 1)
    throw new SluiceError(
      "VALIDATION_FAILED",
      `expected a spool record number (from "sluice spool dlq list"), got "${text}"`,
    );
  return seq;
}

export function registerSpool(program: Command): void {
  const spool = program.command("spool").description("the durable ingest spool: statistics and the dead-letter lane");

  spool
    .command("stats")
    .description("live records per lane, bytes, the oldest record's age, dead letters")
    .action(async (_opts: unknown, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const s = await sluice.spoolStats();
        if (g.json) return printJson(s);
        println(
          `pending: high ${s.pending.high}, normal ${s.pending.normal}, bulk ${s.pending.bulk} (${s.leased} leased), ${s.bytes} bytes, oldest ${s.oldestAgeSeconds.toFixed(1)} s`,
        );
        println(
          `waiting on a condition: ${s.waiting}; suspects (in flight when a worker died, to run alone): ${s.suspects}`,
        );
        println(`dead letters: ${s.dead}; tombstoned (reclaimable with "sluice spool compact"): ${s.tombstoned}`);
      });
    });

  spool
    .command("compact")
    .description("delete tombstoned records and give their space back")
    .action(async (_opts: unknown, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const reclaimed = await sluice.compactSpool();
        if (g.json) printJson({ reclaimed });
        else println(`reclaimed ${reclaimed} tombstoned records`);
      });
    });

  const dlq = spool.command("dlq").description("documents that failed for good, with their last error");
  dlq
    .command("list")
    .option("--limit <n>", "how many", "100")
    .action(async (opts: { limit: string }, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const letters = await sluice.deadLetters(Math.max(1, Number(opts.limit) || 100));
        if (g.json) return printJson({ deadLetters: letters });
        if (letters.length === 0) return println("the dead-letter lane is empty");
        for (const d of letters)
          println(`${String(d.seq).padStart(8)}  ${d.jobId}  ${d.docId}  (${d.attempts} attempts)  ${d.error}`);
      });
    });
  dlq
    .command("retry")
    .description("send a dead letter back to work (its job runs again)")
    .argument("<seq>", "spool record number")
    .action(async (seq: string, _opts: unknown, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const n = parseSeq(seq);
        if (!(await sluice.retryDeadLetter(n)))
          throw new SluiceError("NOT_FOUND", `spool record ${n} is not in the dead-letter lane`);
        if (g.json) printJson({ seq: n, retried: true });
        else println(`record ${n} is back in the spool; run "sluice worker --exit-when-idle" or resume its job`);
      });
    });
  dlq
    .command("drop")
    .description("drop a dead letter for good")
    .argument("<seq>", "spool record number")
    .action(async (seq: string, _opts: unknown, command: Command) => {
      await withSluice(command, async (sluice, g) => {
        const n = parseSeq(seq);
        if (!(await sluice.dropDeadLetter(n)))
          throw new SluiceError("NOT_FOUND", `spool record ${n} is not in the dead-letter lane`);
        if (g.json) printJson({ seq: n, dropped: true });
        else println(`dropped record ${n}`);
      });
    });
}
