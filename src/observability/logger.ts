import { pino, type DestinationStream, type Logger } from "pino";
import { LOG_LEVELS, type LogLevel } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import { enableLogFields, logFields } from "./log-context.ts";
import { traceFields } from "./tracing.ts";


/**
 * The level in force: SLUICE_LOG_LEVEL when set, else `logging.level` from the config.
 *
 * @throws SluiceError `CONFIG_INVALID` when SLUICE_LOG_LEVEL is not a pino level
 *
 * @example
 * logLevel({ level: "silent" }, { SLUICE_LOG_LEVEL: "info" }); // "info"
 */
export function logLevel(config: { level: LogLevel }, env: NodeJS.ProcessEnv = process.env): LogLevel {
  const fromEnv = env["SLUICE_LOG_LEVEL"];
  if (fromEnv === undefined || fromEnv === "") return config.level;
  const level = LOG_LEVELS.find((l) => l === fromEnv.toLowerCase());
  if (!level) throw new SluiceError("CONFIG_INVALID", `SLUICE_LOG_LEVEL: "${fromEnv}" is not a log level; levels: ${LOG_LEVELS.join(", ")}`, { details: { value: fromEnv } });
  return level;
}

/**
 * The engine's JSON logger: one line per entry on stderr (or `destination`), each carrying the
 * correlation fields in force (`correlation_id`, `job_id`, `doc_id`, `tenant`) and the active
 * span's `trace_id` / `span_id`. At `silent` it is pino's disabled logger: nothing is formatted.
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
