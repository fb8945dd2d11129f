import type { Command } from "commander";
import { SluiceError } from "../../contracts/errors.ts";
import type { MigrateProgress, MigrationReport } from "../../engine/migrate/migrate-to-postgres.ts";
import { globals } from "../context.ts";
import { printJson, println } from "../output.ts";

const HELP = `
Copies the embedded data folder (--data: index.db and ledger.db) into PostgreSQL: every collection,
document, chunk, dense vector and sparse weight (nothing is embedded again), every job record and
the finished spool records. The folder is only read. Run it again after an interruption: what is
in PostgreSQL already is skipped. At the end, document and chunk counts, a sample of vectors and
the job records are compared; a difference exits 1 and names it.

Stop every process using the folder first. While its spool still holds unfinished documents the
command refuses: let them finish (sluice worker --exit-when-idle) or cancel their jobs.

The URL may carry a password; it is never printed. Rather than on the command line, set it as
postgres.url or SLUICE_DATABASE_URL and leave --to out.

Example:
  sluice --data .sluice migrate --to postgres://sluice@db:5432/sluice --schema sluice
`;

interface Bar {
  update(event: MigrateProgress): void;
  stop(): void;
}

/** A bar per collection on stderr when a person is watching; nothing otherwise. */
async function progressBar(enabled: boolean): Promise<Bar> {
  if (!enabled || !process.stderr.isTTY) return { update: () => undefined, stop: () => undefined };
  const { default: cliProgress } = await import("cli-progress");
  let bar: InstanceType<typeof cliProgress.SingleBar> | null = null;
  const stop = () => {
    bar?.stop();
    bar = null;
  };
  return {
    update(event) {
      if (event.kind === "collection") {
        stop();
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: `migrate ${event.collection} [{bar}] {value}/{total} docs | {skipped} already there | eta {eta_formatted}`,
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(event.documents, 0, { skipped: 0 });
      } else if (event.kind === "document") bar?.update(event.done, { skipped: event.skipped });
      else if (event.kind === "collection-done") stop();
      else if (event.kind === "jobs") process.stderr.write(`migrate ${event.table}: ${event.rows} rows\n`);
      else process.stderr.write("verifying…\n");
    },
    stop,
  };
}

function printReport(report: MigrationReport): void {
  println(`${report.dataDir} → ${report.target} (schema ${report.schema})`);
  for (const c of report.collections)
    println(
      `${c.collection}: ${c.documents.copied} documents, ${c.chunks.copied} chunks, ${c.vectors.copied} vectors copied; ` +
        `${c.documents.skipped} documents, ${c.chunks.skipped} chunks, ${c.vectors.skipped} vectors already there`,
    );
  const tables = Object.entries(report.jobRecords);
  if (tables.length > 0)
    println(
      `job records: ${tables.map(([table, n]) => `${table} ${n.copied} copied${n.skipped > 0 ? ` (${n.skipped} already there)` : ""}`).join(", ")}`,
    );
  const v = report.verification;
  println(
    v.ok
      ? `verified: counts equal, ${v.sampledChunks} sampled chunks identical, every job present`
      : `verification FAILED:\n${v.mismatches.map((m) => `  ${m}`).join("\n")}`,
  );
}

export function registerMigrate(program: Command): void {
  program
    .command("migrate")
    .description(
      "copy the embedded data folder (index, vectors, jobs) into PostgreSQL: resumable, verified, the folder is only read",
    )
    .option("--to <url>", "postgres://user@host:5432/db (default: postgres.url or env SLUICE_DATABASE_URL)")
    .option("--schema <name>", "PostgreSQL schema to copy into (default: postgres.schema, sluice)")
    .option("--sample <n>", "chunks per collection whose vectors are compared at the end", "100")
    .addHelpText("after", HELP)
    .action(async (opts: { to?: string; schema?: string; sample: string }, command: Command) => {
      const g = globals(command);
      const sample = Number(opts.sample);
      if (!Number.isInteger(sample) || sample < 0)
        throw new SluiceError("VALIDATION_FAILED", `--sample: expected a whole number, got "${opts.sample}"`);
      // Loaded here, not at the top: `sluice --help` never loads the engine or the drivers.
      const [{ loadConfig }, { migrateToPostgres }] = await Promise.all([
        import("../../config/load-config.ts"),
        import("../../engine/migrate/migrate-to-postgres.ts"),
      ]);
      const config = loadConfig(g.config ? { path: g.config, explicit: true } : {});
      const url = opts.to ?? config.postgres.url;
      if (!url)
        throw new SluiceError(
          "VALIDATION_FAILED",
          "sluice migrate needs a target: --to postgres://user@host:5432/db (or postgres.url, or env SLUICE_DATABASE_URL)",
        );
      const bar = await progressBar(!g.json);
      let report: MigrationReport;
      try {
        report = await migrateToPostgres({
          dataDir: g.data,
          url,
          schema: opts.schema ?? config.postgres.schema,
          hnsw: config.postgres.hnsw,
          sample,
          onProgress: (event) => bar.update(event),
        });
      } finally {
        bar.stop();
      }
      if (g.json) printJson(report);
      else printReport(report);
      if (!report.verification.ok) {
        if (!g.json)
          process.stderr.write(
            `error: the copy in PostgreSQL differs from ${report.dataDir}: ${report.verification.mismatches.join("; ")}\n`,
          );
        process.exitCode = 1;
      }
    });
}
