/**
 * The gate and spool under load: sustained end-to-end throughput (a producer admitting as fast as
 * backpressure allows while a worker process drains), and a burst of small documents (time to
 * accept, time to drain, documents lost). Run with a no-op-like embedder (hash, 8-d: the engine's
 * own cost) and with the real default pipeline. Prints readable lines, then one JSON object.
 *
 *   npm run bench:gate [-- --burst 10000 --seconds 30 --real-burst 300]
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice, type InlineDocument } from "../src/engine/sluice.ts";
import { llamaIndexInMemory } from "./peers/llamaindex-in-memory.ts";

const { values } = parseArgs({
  options: {
    burst: { type: "string", default: "10000" },
    seconds: { type: "string", default: "30" },
    "real-burst": { type: "string", default: "300" },
  },
});
const BURST = Number(values.burst);
const SECONDS = Number(values.seconds);
const REAL_BURST = Number(values["real-burst"]);
const MAIN = fileURLToPath(new URL("../src/cli/main.ts", import.meta.url));
const NOOP = {
  embedder: { backend: "hash", dimensions: 8 },
  spool: { maxPending: 20_000 },
  ingest: { concurrency: 32 },
};

let serial = 0;
function smallDocs(n: number): InlineDocument[] {
  return Array.from({ length: n }, () => {
    const i = serial++;
    return {
      id: `doc-${i}`,
      title: `Note ${i}`,
      text: `Note ${i} records that shipment ${i % 977} left warehouse ${i % 13} on time. The receiving team confirmed item ${i}.`,
    };
  });
}

function startWorker(data: string, config: string) {
  return spawn(process.execPath, ["--import", "tsx", MAIN, "--data", data, "--config", config, "worker"], {
    stdio: ["ignore", "ignore", "inherit"],
  });
}

async function indexed(sluice: Sluice, collection: string): Promise<number> {
  return (await sluice.store.getCollection(collection))?.documents ?? 0;
}

async function sustained(dir: string): Promise<{ acceptedPerS: number; indexedPerS: number }> {
  const data = join(dir, "sustained");
  const config = join(dir, "noop.yaml");
  writeFileSync(config, JSON.stringify(NOOP));
  const sluice = await Sluice.open({ dataDir: data, config: parseConfig(NOOP) });
  const worker = startWorker(data, config);
  try {
    await sluice.submitDocuments({ collection: "s", documents: smallDocs(200) });
    while ((await indexed(sluice, "s")) < 200) await sleep(50); // worker warmed up
    const before = await indexed(sluice, "s");
    const started = performance.now();
    let accepted = 0;
    while (performance.now() - started < SECONDS * 1000) {
      const job = await sluice.submitDocuments({ collection: "s", documents: smallDocs(1000) });
      accepted += job.accepted.length;
    }
    const seconds = (performance.now() - started) / 1000;
    const done = (await indexed(sluice, "s")) - before;
    console.log(
      `sustained (${SECONDS} s, producer + one worker process, no-op embedder): accepted ${accepted} (${(accepted / seconds).toFixed(0)}/s), indexed ${done} (${(done / seconds).toFixed(0)}/s = ${((done / seconds) * 60).toFixed(0)}/min)`,
    );
    return { acceptedPerS: accepted / seconds, indexedPerS: done / seconds };
  } finally {
    worker.kill("SIGTERM");
    await new Promise((r) => worker.once("close", r));
    await sluice.close();
  }
}

async function burst(
  dir: string,
  label: string,
  n: number,
  config: Record<string, unknown>,
): Promise<{ acceptS: number; drainS: number; lost: number }> {
  const sluice = await Sluice.open({ dataDir: join(dir, label), config: parseConfig(config) });
  try {
    await sluice.embedder().warmUp();
    const docs = smallDocs(n);
    let t = performance.now();
    const job = await sluice.submitDocuments({ collection: "b", documents: docs }, { pause: false });
    const acceptS = (performance.now() - t) / 1000;
    t = performance.now();
    const done = await sluice.runJob(job.id);
    const drainS = (performance.now() - t) / 1000;
    const lost = n - (await indexed(sluice, "b"));
    console.log(
      `burst (${label}): ${n} documents accepted in ${acceptS.toFixed(2)} s (${(n / acceptS).toFixed(0)}/s), drained in ${drainS.toFixed(2)} s (${(n / drainS).toFixed(0)}/s), job ${done.state}, lost ${lost}`,
    );
    return { acceptS, drainS, lost };
  } finally {
    await sluice.close();
  }
}

const dir = mkdtempSync(join(tmpdir(), "sluice-gate-bench-"));
try {
  const s = await sustained(dir);
  const b = await burst(dir, "no-op embedder", BURST, NOOP);
  const real = await burst(dir, "real pipeline, bundled model", REAL_BURST, {});
  const peer = await llamaIndexInMemory(smallDocs(BURST));
  console.log(
    `peer, LlamaIndex.TS in memory (no durability, no index): ${BURST} documents in ${peer.seconds.toFixed(2)} s (${(BURST / peer.seconds).toFixed(0)}/s)`,
  );
  console.log(
    JSON.stringify({
      sustained_docs_per_min: Math.round(s.indexedPerS * 60),
      sustained_docs_per_s: Number(s.indexedPerS.toFixed(1)),
      accepted_docs_per_s: Number(s.acceptedPerS.toFixed(1)),
      burst_docs: BURST,
      burst_accept_s: Number(b.acceptS.toFixed(3)),
      burst_drain_s: Number(b.drainS.toFixed(3)),
      lost: b.lost + real.lost,
      real_burst_docs: REAL_BURST,
      real_burst_accept_s: Number(real.acceptS.toFixed(3)),
      real_burst_drain_s: Number(real.drainS.toFixed(3)),
      peer_llamaindex_in_memory_docs_per_s: Math.round(BURST / peer.seconds),
    }),
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
