import type { ChildProcess } from "node:child_process";

/**
 * Nearest-rank percentile of ascending `sorted` samples (NaN when there are none).
 *
 * @example
 * percentile([1, 2, 3, 4], 50); // 3
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/**
 * The base URL `sluice serve` prints once it listens (its stdout piped); rejects if it exits first.
 *
 * @example
 * const server = spawn(process.execPath, [BIN, "serve", "--port", "0"], { stdio: ["ignore", "pipe", "inherit"] });
 * const base = await listeningUrl(server);
 */
export function listeningUrl(server: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    server.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    server.once("exit", (code) => reject(new Error(`sluice serve exited with ${code} before listening`)));
  });
}
