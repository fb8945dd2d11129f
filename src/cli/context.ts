import { resolve } from "node:path";
import type { Command } from "commander";
import type { Sluice } from "../engine/sluice.ts";

export interface GlobalOptions {
  data: string;
  config?: string;
  json: boolean;
}

export function globals(command: Command): GlobalOptions {
  const opts = command.optsWithGlobals<{ data?: string; config?: string; json?: boolean }>();
  return {
    data: resolve(opts.data ?? process.env["SLUICE_DATA"] ?? ".sluice"),
    ...(opts.config ? { config: opts.config } : {}),
    json: opts.json ?? false,
  };
}

/**
 * Opens the engine for a command and always closes it, whatever the command does. Tracing runs
 * for the command's life when `tracing.otlpUrl` (or an OTEL_EXPORTER_OTLP_* endpoint) is set; its
 * spans are flushed after the engine closes.
 *
 * @example
 * await withSluice(command, async (sluice) => println((await sluice.stats("default")).documents));
 * await withSluice(command, search, { oneShot: true }); // no model threads for one query
 */
export async function withSluice<T>(
  command: Command,
  fn: (sluice: Sluice, g: GlobalOptions) => Promise<T>,
  options: { oneShot?: boolean; server?: boolean } = {},
): Promise<T> {
  const g = globals(command);
  // Loaded here, not at the top: `sluice --help` and argument errors never load the engine.
  const [{ loadConfig }, { startTracing }, { Sluice }] = await Promise.all([
    import("../config/load-config.ts"),
    import("../observability/tracing.ts"),
    import("../engine/sluice.ts"),
  ]);
  const config = loadConfig(g.config ? { path: g.config, explicit: true } : {});
  // A one-shot command (a query) embeds a line or two and exits: starting a model thread for it
  // would cost more than it saves, unless the user asked for threads by number.
  if (options.oneShot && config.models.threads === "auto") config.models.threads = 0;
  const tracing = await startTracing(config.tracing);
  // A server answers queries in reader threads; a command queries on its own thread.
  const readerThreads = options.server
    ? (await import("../retrieval/readers/reader-pool.ts")).resolveReaderThreads(config.retrieval.readerThreads)
    : 0;
  const sluice = await Sluice.open({ dataDir: g.data, config, readerThreads });
  try {
    return await fn(sluice, g);
  } finally {
    await sluice.close();
    await tracing.shutdown();
  }
}
