import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyBaseLogger } from "fastify";
import type { Sluice } from "../engine/sluice.ts";

/** How long the worker waits before starting again after its loop failed. */
const RESTART_DELAY_MS = 1_000;

/** A running in-process worker loop. */
export interface BackgroundWorker {
  /** Aborts the loop (a running job stops between documents) and waits for it to return. */
  stop(): Promise<void>;
}

/**
 * Runs `sluice.work()` in the background until stopped: the in-process worker that picks up
 * the jobs the API records. If the loop throws, the error is logged and the loop starts again
 * after a second, so one bad job cannot silently stop ingestion for the server's lifetime.
 *
 * @example
 * const worker = startBackgroundWorker(sluice, app.log);
 * await worker.stop();
 */
export function startBackgroundWorker(sluice: Sluice, log: FastifyBaseLogger): BackgroundWorker {
  const controller = new AbortController();
  const { signal } = controller;
  const loop = (async () => {
    while (!signal.aborted) {
      try {
        await sluice.work({ signal });
      } catch (err) {
        if (signal.aborted) break;
        log.error({ err }, "ingest worker loop failed; restarting");
        await sleep(RESTART_DELAY_MS, undefined, { signal }).catch(() => undefined);
      }
    }
  })();
  return {
    async stop() {
      controller.abort();
      await loop;
    },
  };
}
