import { Command, CommanderError } from "commander";
import { registerCerts } from "./commands/certs.ts";
import { registerConfig } from "./commands/config.ts";
import { registerEval } from "./commands/eval.ts";
import { registerEvents } from "./commands/events.ts";
import { registerIngest } from "./commands/ingest.ts";
import { registerModelServer } from "./commands/model-server.ts";
import { registerJobs } from "./commands/jobs.ts";
import { registerMigrate } from "./commands/migrate.ts";
import { registerPipeline } from "./commands/pipeline.ts";
import { registerQuery } from "./commands/query.ts";
import { registerServe } from "./commands/serve.ts";
import { registerSpool } from "./commands/spool.ts";
import { registerStats } from "./commands/stats.ts";
import { registerToken } from "./commands/token.ts";
import { registerWorker } from "./commands/worker.ts";
import { reportError } from "./output.ts";

// `sluice query … | head` closes stdout early; that is not an error worth a stack trace.
process.stdout.on("error", (err: NodeJS.ErrnoException) => {
  if (err.code === "EPIPE") process.exit(0);
  throw err;
});

const program = new Command("sluice")
  .description("Sluice: durable document ingestion and hybrid retrieval with cited answers")
  .option("--data <dir>", "data directory (env SLUICE_DATA)", process.env["SLUICE_DATA"] ?? ".sluice")
  .option("--config <file>", "config file (default: sluice.yaml if present)")
  .option("--json", "print one JSON object on stdout")
  .exitOverride()
  .showHelpAfterError();

registerIngest(program);
registerQuery(program);
registerEval(program);
registerJobs(program);
registerEvents(program);
registerStats(program);
registerServe(program);
registerPipeline(program);
registerSpool(program);
registerWorker(program);
registerCerts(program);
registerModelServer(program);
registerToken(program);
registerConfig(program);
registerMigrate(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode === 0 ? 0 : 2;
  } else {
    process.exitCode = reportError(err, process.argv.includes("--json"));
  }
}
