import { httpReason, isSluiceError, toSluiceError } from "../contracts/errors.ts";

/** Writes one JSON object on stdout: the contract of every `--json` command. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

export function println(line = ""): void {
  process.stdout.write(`${line}\n`);
}

/**
 * Reports an error the way scripts and people both can read: with `--json`, the HTTP error
 * shape on stdout; otherwise `error CODE: message` on stderr. Internal errors keep their stack
 * out of sight unless SLUICE_DEBUG is set.
 */
export function reportError(err: unknown, json: boolean): number {
  const e = toSluiceError(err);
  if (json) {
    printJson({ statusCode: e.statusCode, code: e.code, error: httpReason(e.statusCode), message: e.message });
  } else {
    process.stderr.write(`error ${e.code}: ${e.message}\n`);
    if (!isSluiceError(err) && process.env["SLUICE_DEBUG"] && err instanceof Error)
      process.stderr.write(`${err.stack}\n`);
  }
  return 1;
}
