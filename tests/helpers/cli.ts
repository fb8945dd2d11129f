import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));
export const MAIN = join(ROOT, "src", "cli", "main.ts");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts the real CLI in a child process (the way users run it); `preload` modules load after tsx. */
export function startCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; preload?: string[] } = {},
): ChildProcess {
  const preload = (options.preload ?? []).flatMap((p) => ["--import", p]);
  return spawn(process.execPath, ["--import", "tsx", ...preload, MAIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
}

/** Runs the CLI to its end; with `timeoutMs`, a child still running then is killed (exit code null). */
export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; preload?: string[]; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = startCli(args, options);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const timer =
    options.timeoutMs === undefined ? undefined : setTimeout(() => child.kill("SIGKILL"), options.timeoutMs);
  return new Promise((resolve) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    }),
  );
}

/** Parses the single JSON object a `--json` command prints. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout.trim()) as T;
  } catch {
    throw new Error(
      `not one JSON object on stdout (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`,
    );
  }
}

/** A temp workspace with a sluice.yaml that uses the fast hash embedder (no model to load). */
export function workspace(config = "embedder:\n  backend: hash\n  dimensions: 64\n"): {
  dir: string;
  data: string;
  config: string;
} {
  const dir = mkdtempSync(join(tmpdir(), "sluice-test-"));
  const configPath = join(dir, "sluice.yaml");
  writeFileSync(configPath, config);
  return { dir, data: join(dir, "data"), config: configPath };
}

/**
 * Stops a child process: SIGTERM, then SIGKILL if it has not exited within `graceMs`, so that a
 * child stuck in its shutdown cannot hang the test that started it.
 *
 * @example
 * await Promise.all(children.map((c) => stopChild(c)));
 */
export async function stopChild(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}
