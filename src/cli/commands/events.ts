import { open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { setTimeout as sleep } from "node:timers/promises";
import type { Command } from "commander";
import { SluiceError } from "../../contracts/errors.ts";
import { eventTypeMatcher } from "../../observability/event-type-matcher.ts";
import { globals } from "../context.ts";
import { println } from "../output.ts";

interface TailOptions {
  file?: string;
  follow?: boolean;
  type: string[];
  lines?: string;
  pollMs?: string;
}

/**
 * One readable line per event: time, short type, subject, then what the type carries (stage,
 * attempt, duration, error for stages; state and counts for jobs).
 *
 * @example
 * formatEvent({
 *   type: "io.sluice.stage.completed",
 *   subject: "a",
 *   time: "…",
 *   jobid: "job_1",
 *   data: { stage: "parse", attempt: 1, durationMs: 3.2 },
 * });
 * // "…  stage.completed  a  job=job_1 stage=parse attempt=1 3.2ms"
 */
export function formatEvent(e: Record<string, unknown>): string {
  const data = (typeof e["data"] === "object" && e["data"] !== null ? e["data"] : {}) as Record<string, unknown>;
  const type = text(e["type"], "?").replace(/^io\.sluice\./, "");
  const parts = [text(e["time"], ""), type.padEnd(15), text(e["subject"], "-")];
  if (type.startsWith("stage.")) {
    parts.push(
      `job=${text(e["jobid"], "?")}`,
      `stage=${text(data["stage"], "?")}`,
      `attempt=${text(data["attempt"], "?")}`,
    );
    if (typeof data["durationMs"] === "number") parts.push(`${data["durationMs"]}ms`);
  } else if (type.startsWith("job.")) {
    if (e["collection"] !== undefined) parts.push(`collection=${text(e["collection"], "?")}`);
    if (typeof data["pipeline"] === "string") parts.push(`pipeline=${data["pipeline"]}`);
    if (typeof data["total"] === "number" && type !== "job.created")
      parts.push(`${text(data["done"], "?")}/${data["total"]} done, ${text(data["failed"], "?")} failed`);
  }
  if (e["tenant"] !== undefined && e["tenant"] !== "default") parts.push(`tenant=${text(e["tenant"], "?")}`);
  const error = data["error"];
  if (typeof error === "string") parts.push(`(${error})`);
  else if (typeof error === "object" && error !== null) {
    const { code, message } = error as { code?: unknown; message?: unknown };
    parts.push(`${text(code, "ERROR")}: ${text(message, "")}`);
  }
  return parts.join("  ");
}

/** A JSON value as text: scalars as themselves, anything else as JSON. */
function text(value: unknown, fallback: string): string {
  if (value === undefined || value === null) return fallback;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

/** What to print for `line`: null for blank lines, lines the filter drops, and malformed lines (reported on stderr). */
function renderer(options: { json: boolean; match: (type: string) => boolean }): (line: string) => string | null {
  return (line) => {
    if (line.trim() === "") return null;
    let event: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(line);
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw new Error("not an object");
      event = parsed as Record<string, unknown>;
    } catch {
      process.stderr.write(`skipped a line that is not a JSON event: ${line.slice(0, 80)}\n`);
      return null;
    }
    if (!options.match(text(event["type"], ""))) return null;
    return options.json ? line : formatEvent(event);
  };
}

interface Cursor {
  position: number;
  /** Bytes after the last newline read: the writer may be mid-line. */
  partial: string;
  /** Keeps a UTF-8 character split across two reads whole. */
  decoder: StringDecoder;
}

const newCursor = (): Cursor => ({ position: 0, partial: "", decoder: new StringDecoder("utf8") });

/** Reads from the cursor to the end of the file in chunks, passing on complete lines only. */
async function readLines(file: string, cursor: Cursor, onLine: (line: string) => void): Promise<void> {
  const handle = await open(file, "r");
  try {
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, cursor.position);
      if (bytesRead === 0) return;
      cursor.position += bytesRead;
      const lines = (cursor.partial + cursor.decoder.write(buffer.subarray(0, bytesRead))).split("\n");
      cursor.partial = lines.pop() ?? "";
      for (const line of lines) onLine(line);
    }
  } finally {
    await handle.close();
  }
}

/** Like `tail -f`: prints lines appended after the cursor; starts over if the file is truncated or replaced. */
async function follow(
  file: string,
  cursor: Cursor,
  pollMs: number,
  signal: AbortSignal,
  print: (line: string) => void,
): Promise<void> {
  let inode = (await stat(file).catch(() => null))?.ino ?? null;
  while (!signal.aborted) {
    const info = await stat(file).catch(() => null);
    if (info) {
      if (inode !== null && (info.ino !== inode || info.size < cursor.position)) Object.assign(cursor, newCursor());
      inode = info.ino;
      if (info.size > cursor.position) await readLines(file, cursor, print);
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}

/**
 * `sluice events tail [--file F] [--follow] [--type PATTERN] [-n N] [--json]`.
 *
 * @example
 * registerEvents(program); // sluice events tail --follow --type 'io.sluice.job.*'
 */
export function registerEvents(program: Command): void {
  const events = program.command("events").description("lifecycle CloudEvents written to the JSONL sink");
  events
    .command("tail")
    .description(
      "print events from the JSONL sink (events.file, SLUICE_EVENTS_FILE); --follow keeps printing as they are written",
    )
    .option("--file <file>", "the JSONL file (default: events.file of the config, env SLUICE_EVENTS_FILE)")
    .option("-f, --follow", "keep the file open and print appended events, like tail -f")
    .option(
      "--type <pattern>",
      "only events whose type matches, * as a wildcard (io.sluice.stage.*, job.*); repeatable",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option("-n, --lines <n>", "start with the last n events of the file")
    .option("--poll-ms <ms>", "how often --follow looks for new lines", "200")
    .action(async (opts: TailOptions, command: Command) => {
      const g = globals(command);
      const file =
        opts.file ??
        (await import("../../config/load-config.ts")).loadConfig(g.config ? { path: g.config, explicit: true } : {})
          .events.file;
      if (!file)
        throw new SluiceError(
          "VALIDATION_FAILED",
          "no events file: pass --file, set SLUICE_EVENTS_FILE, or set events.file in the config",
        );
      const path = resolve(file);
      const lines = opts.lines === undefined ? undefined : Number(opts.lines);
      if (lines !== undefined && (!Number.isInteger(lines) || lines < 0))
        throw new SluiceError("VALIDATION_FAILED", `--lines must be a non-negative integer, got "${opts.lines}"`);
      const render = renderer({ json: g.json, match: eventTypeMatcher(opts.type) });
      const print = (line: string) => {
        const out = render(line);
        if (out !== null) println(out);
      };
      const exists = await stat(path).then(
        () => true,
        () => false,
      );
      if (!exists && !opts.follow)
        throw new SluiceError("PATH_NOT_FOUND", `events file not found: ${path}`, { details: { path } });
      const cursor = newCursor();
      if (exists) {
        const last: string[] = [];
        await readLines(path, cursor, (line) => {
          if (lines === undefined) return print(line);
          const out = render(line);
          if (out !== null) last.push(out);
          if (last.length > lines) last.shift();
        });
        for (const out of last) println(out);
      }
      if (!opts.follow) {
        // Without --follow, a last line with no newline yet is still an event to show.
        if (cursor.partial.trim() !== "") print(cursor.partial);
        return;
      }
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once("SIGINT", onSignal);
      process.once("SIGTERM", onSignal);
      try {
        await follow(path, cursor, Math.max(10, Number(opts.pollMs) || 200), stop.signal, print);
      } finally {
        process.off("SIGINT", onSignal);
        process.off("SIGTERM", onSignal);
      }
    });
}
