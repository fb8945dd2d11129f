import { pino, type DestinationStream, type Logger } from "pino";
import type { LogLevel } from "../config/schema.ts";
import { enableLogFields, logFields } from "./log-context.ts";
import { traceFields } from "./tracing.ts";

/**
 * The engine's JSON logger at `level` (`logging.level`, which env SLUICE_LOG_LEVEL overrides): one
 * line per entry on stderr (or `destination`), each carrying the correlation fields in force
 * (`correlation_id`, `job_id`, `doc_id`, `tenant`) and the active span's `trace_id` / `span_id`. At
 * `silent` it is pino's disabled logger: nothing is formatted.
 *
 * @example
 * const logger = createLogger({ level: "info" });
 * logger.warn({ stage: "parse", code: "PDF_CORRUPT" }, "stage failed");
 */
export function createLogger(options: { level: LogLevel; destination?: DestinationStream; name?: string }): Logger {
  if (options.level === "silent") return pino({ enabled: false, level: "silent" });
  enableLogFields();
  return pino(
    {
      name: options.name ?? "sluice",
      level: options.level,
      // Read per line written (never for a level that is off): the run's fields, then the span's ids.
      mixin: () => ({ ...logFields(), ...traceFields() }),
    },
    options.destination ?? pino.destination({ fd: 2, sync: true }),
  );
}
