/**
 * The ingesting process of one `bench:scale` configuration, run as its own process so its memory
 * is its own. It opens the engine in-process (admission only: it never runs a worker), warms the
 * already running worker processes with a small job, then admits the corpus through the gate and
 * polls the ledger until the job ends. It writes one JSON line per event to stdout:
 * `{"event":"warm"}` once the warm-up job is done, `{"event":"measuring"}` just before admission,
 * then `{"event":"result",…}`.
 *
 *   node --import tsx bench/scale/ingester.ts --data DIR --config sluice.yaml --corpus corpus.jsonl [--warmup 256]
 */
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { loadConfig } from "../../src/config/load-config.ts";
import { isTerminal, type Job } from "../../src/contracts/index.ts";
import { Sluice } from "../../src/engine/sluice.ts";

const { values } = parseArgs({
  options: {
    data: { type: "string" },
    config: { type: "string" },
    corpus: { type: "string" },
    warmup: { type: "string", default: "256" },
    "poll-ms": { type: "string", default: "100" },
    "timeout-s": { type: "string", default: "600" },
  },
});
if (!values.data || !values.config || !values.corpus)
  throw new Error("usage: ingester.ts --data DIR --config FILE --corpus FILE.jsonl");
const POLL_MS = Number(values["poll-ms"]);
const TIMEOUT_MS = Number(values["timeout-s"]) * 1000;

const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

/**
 * Polls a job until it ends (and `admitted()` says its admission is over); `onPoll` sees each
 * reading with its time since `t0`.
 */
async function untilEnded(
  sluice: Sluice,
  jobId: string,
  t0: number,
  onPoll: (seconds: number, job: Job) => void = () => undefined,
  admitted: () => boolean = () => true,
): Promise<Job> {
  for (;;) {
    const job = await sluice.getJob(jobId);
    const seconds = (performance.now() - t0) / 1000;
    onPoll(seconds, job);
    if (isTerminal(job.state) && admitted()) return job;
    if (seconds * 1000 > TIMEOUT_MS)
      throw new Error(
        `job ${jobId} still ${job.state} after ${seconds.toFixed(0)} s: ${job.done}/${job.total} done, ${job.failed} failed, ${job.waiting} waiting`,
      );
    await sleep(POLL_MS);
  }
}

/** Seconds at which `done` first reached `target`, interpolated between polls. */
function reachedAt(samples: Array<[number, number]>, target: number): number | null {
  for (let i = 0; i < samples.length; i++) {
    const [t, done] = samples[i]!;
    if (done < target) continue;
    if (i === 0) return t;
    const [tp, dp] = samples[i - 1]!;
    return tp + ((t - tp) * (target - dp)) / Math.max(1, done - dp);
  }
  return null;
}

const sluice = await Sluice.open({ dataDir: values.data, config: loadConfig({ path: values.config, explicit: true }) });
try {
  // Warm-up: the workers load their pipeline and models on the first documents they lease.
  const warmupDocs = Array.from({ length: Number(values.warmup) }, (_, i) => ({
    id: `warm-${i}`,
    title: `Warm-up ${i}`,
    text: `Warm-up note ${i}: shipment ${i % 97} left warehouse ${i % 7} on time and the receiving team confirmed it.`,
  }));
  const w0 = performance.now();
  const warm = await sluice.submitDocuments({ collection: "warmup", documents: warmupDocs });
  const warmed = await untilEnded(sluice, warm.id, w0);
  emit({ event: "warm", seconds: (performance.now() - w0) / 1000, state: warmed.state, done: warmed.done });

  emit({ event: "measuring" });
  const samples: Array<[number, number]> = [];
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  // Polled from the moment the job exists, so documents finished during admission are seen.
  let admitSeconds: number | null = null;
  let onJob: (id: string) => void = () => undefined;
  const created = new Promise<string>((resolve) => (onJob = resolve));
  const admission = sluice
    .submitPaths({ collection: "bench", paths: [values.corpus] }, { onJob: (j) => onJob(j.id) })
    .then((job) => {
      admitSeconds = (performance.now() - t0) / 1000;
      return job;
    });
  let admissionFailed = false;
  admission.catch(() => (admissionFailed = true));
  const jobId = await Promise.race([created, admission.then((j) => j.id)]);
  const ended = await untilEnded(
    sluice,
    jobId,
    t0,
    (s, j) => samples.push([s, j.done + j.failed]),
    () => admitSeconds !== null || admissionFailed,
  );
  const job = await admission;
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const total = ended.total;
  const first = reachedAt(samples, 1);
  const p10 = reachedAt(samples, Math.ceil(total * 0.1));
  const p90 = reachedAt(samples, Math.floor(total * 0.9));
  const collection = await sluice.store.getCollection("bench");
  const dead = (await sluice.deadLetters(1000)).length;
  emit({
    event: "result",
    jobId: job.id,
    state: ended.state,
    total,
    accepted: job.accepted.length,
    done: ended.done,
    failed: ended.failed,
    indexed: collection?.documents ?? 0,
    chunks: collection?.chunks ?? 0,
    deadLetters: dead,
    admitSeconds: admitSeconds ?? seconds,
    seconds,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    firstDoneSeconds: first,
    // The middle 80% of the documents: the rate once the pipeline is full and before the tail.
    steadyDocsPerS:
      p10 !== null && p90 !== null && p90 > p10
        ? (Math.floor(total * 0.9) - Math.ceil(total * 0.1)) / (p90 - p10)
        : null,
  });
} finally {
  await sluice.close();
}
