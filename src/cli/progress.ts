import type { DocumentProgress } from "../queue/worker.ts";

export interface Progress {
  onDocument(p: DocumentProgress): void;
  setTotal(total: number): void;
  stop(): void;
}

/**
 * A progress bar on stderr for long ingests when a person is watching (a TTY and no --json);
 * silent otherwise, so scripts get clean output.
 */
export async function createProgress(enabled: boolean): Promise<Progress> {
  if (!enabled || !process.stderr.isTTY)
    return { onDocument: () => undefined, setTotal: () => undefined, stop: () => undefined };
  const { default: cliProgress } = await import("cli-progress");
  const bar = new cliProgress.SingleBar(
    {
      stream: process.stderr,
      format: "ingest [{bar}] {value}/{total} docs | {failed} failed | {rate} docs/s | eta {eta_formatted}",
      hideCursor: true,
      etaBuffer: 200,
    },
    cliProgress.Presets.shades_classic,
  );
  const started = Date.now();
  let done = 0;
  let failed = 0;
  // Documents start finishing while they are still being admitted: the total follows.
  bar.start(0, 0, { failed: 0, rate: "0" });
  return {
    onDocument(p) {
      done++;
      if (p.state === "FAILED") failed++;
      if (done > bar.getTotal()) bar.setTotal(done);
      bar.update(done, { failed, rate: (done / Math.max((Date.now() - started) / 1000, 0.001)).toFixed(1) });
    },
    setTotal: (total) => bar.setTotal(Math.max(total, done)),
    stop: () => bar.stop(),
  };
}
