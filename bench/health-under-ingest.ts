/**
 * How `sluice serve` answers `GET /health/ready` while its own worker ingests a big corpus: a
 * probe every 25 ms (one at a time, as a load balancer does) from admission to the job's end.
 * Prints the probe latencies (p50, p99, max), the ingest rate, then one JSON object. Runs the
 * compiled CLI (`npm run build` first; `npm test` builds too).
 *
 *   npm run bench:health [-- --docs 64000]
 *   SLUICE_MODEL_THREADS=0 npm run bench:health   # models on the event loop, for comparison
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { benchCorpus } from "./corpus.ts";
import { listeningUrl, percentile } from "./serve-helpers.ts";

const { values } = parseArgs({
  options: { docs: { type: "string", default: "64000" }, "probe-ms": { type: "string", default: "25" } },
});
const n = Number(values.docs);
const probeMs = Number(values["probe-ms"]);
const ROOT = fileURLToPath(new URL("..", import.meta.url));
const BIN = join(ROOT, "bin", "sluice.js");
if (!existsSync(join(ROOT, "dist", "cli", "main.js"))) throw new Error("dist/ is missing: run `npm run build` first");

const corpus = await benchCorpus(n);
const dir = mkdtempSync(join(tmpdir(), "sluice-health-bench-"));
const server = spawn(process.execPath, [BIN, "serve", "--data", join(dir, "data"), "--port", "0"], {
  env: { ...process.env, SLUICE_INGEST_ROOTS: dirname(corpus), SLUICE_LOG_LEVEL: "warn" },
  stdio: ["ignore", "pipe", "inherit"],
});

try {
  const base = await listeningUrl(server);
  console.log(`sluice serve at ${base}; ingesting ${n} documents from ${corpus}`);

  const started = performance.now();
  const submitted = fetch(`${base}/v1/jobs`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ collection: "bench", paths: [corpus] }),
  }).then(async (r) => {
    if (r.status !== 202) throw new Error(`POST /v1/jobs answered ${r.status}: ${await r.text()}`);
    return ((await r.json()) as { jobId: string }).jobId;
  });

  const latencies: number[] = [];
  let failures = 0;
  let state = "PENDING";
  let jobId: string | undefined;
  void submitted.then((id) => (jobId = id));
  let checkedAt = 0;
  while (!["COMPLETED", "FAILED", "CANCELLED"].includes(state)) {
    const t = performance.now();
    const r = await fetch(`${base}/health/ready`);
    await r.arrayBuffer();
    latencies.push(performance.now() - t);
    if (r.status !== 200) failures++;
    if (jobId && performance.now() - checkedAt > 1000) {
      checkedAt = performance.now();
      const job = (await (await fetch(`${base}/v1/jobs/${jobId}?limit=0`)).json()) as { state: string };
      state = job.state;
    }
    await sleep(Math.max(0, probeMs - (performance.now() - t)));
  }
  await submitted;
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const [p50, p99, max] = [percentile(latencies, 50), percentile(latencies, 99), latencies.at(-1)!];
  console.log(`ingest: ${n} documents, job ${state}, in ${seconds.toFixed(1)} s → ${(n / seconds).toFixed(0)} docs/s`);
  console.log(
    `/health/ready during the ingest: ${latencies.length} probes, p50 ${p50.toFixed(1)} ms, p99 ${p99.toFixed(1)} ms, max ${max.toFixed(1)} ms, ${failures} not 200`,
  );
  console.log(
    JSON.stringify({
      docs: n,
      job_state: state,
      ingest_docs_per_s: Math.round(n / seconds),
      probes: latencies.length,
      ready_p50_ms: Number(p50.toFixed(2)),
      ready_p99_ms: Number(p99.toFixed(2)),
      ready_max_ms: Number(max.toFixed(2)),
      not_ok: failures,
      model_threads: process.env["SLUICE_MODEL_THREADS"] ?? "default",
    }),
  );
} finally {
  server.kill("SIGTERM");
  await new Promise((resolve) => server.once("close", resolve));
  rmSync(dir, { recursive: true, force: true });
}
