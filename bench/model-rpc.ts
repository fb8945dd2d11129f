/**
 * What the gRPC model server costs next to calling the model in this process. (1) Latency of one
 * `Embed` of one short text, sequential calls, with the near-free hash embedder (8-d) so the RPC
 * cost is what is measured: in-process through the DenseEmbedder port, over gRPC on loopback in
 * plaintext, and over gRPC with mTLS. (2) Batched throughput with the real bundled model
 * (use-lite), in-process vs remote, on the same texts and the same batches. Prints readable
 * lines, then one JSON object.
 *
 *   npm run bench:model-rpc
 *   BENCH_CALLS=5000 BENCH_WARMUP=500 BENCH_TEXTS=256 BENCH_MAX_WAIT_MS=2 npm run bench:model-rpc
 *
 * Env: BENCH_CALLS (2000), BENCH_WARMUP (200), BENCH_TEXTS, BENCH_MAX_CHARS (400), BENCH_BATCH (32),
 * BENCH_CALLERS (4), BENCH_MAX_WAIT_MS (server batcher wait, 0 = the config default),
 * BENCH_SEPARATE (1: also measure against a model server in a child process; 0: skip).
 *
 * The headline numbers run server and client in this one process, on loopback. The use-lite
 * model computes synchronously on the event loop (a 32-text call holds it for seconds), so a
 * server sharing the loop with its client cannot read the next requests while the model runs
 * and its batcher has nothing to coalesce; the separate-process runs show the deployed shape.
 */
import { fork } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { pino } from "pino";
import { parseConfig } from "../src/config/load-config.ts";
import { ModelServer } from "../src/model-server/model-server.ts";
import { createDevCertificates } from "../src/model-server/tls/dev-certs.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { UseLiteEmbedder } from "../src/models/backends/use-lite-embedder.ts";
import { InProcessModels } from "../src/models/in-process-models.ts";
import type { DenseEmbedder, EmbedOptions } from "../src/models/ports.ts";
import { GrpcModels } from "../src/models/remote/grpc-models.ts";
import type { RemoteEmbedder } from "../src/models/remote/remote-embedder.ts";
import { ManualDeviceMonitor } from "../src/models/residency/manual-device-monitor.ts";

function envInt(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0) throw new Error(`${name} must be a non-negative number, got "${raw}"`);
  return Math.floor(n);
}

const CALLS = Math.max(1, envInt("BENCH_CALLS", 2000));
const WARMUP = envInt("BENCH_WARMUP", 200);
const TEXTS = Math.max(1, envInt("BENCH_TEXTS", 512));
const MAX_CHARS = Math.max(20, envInt("BENCH_MAX_CHARS", 400));
const BATCH = Math.max(1, envInt("BENCH_BATCH", 32));
const CALLERS = Math.max(1, envInt("BENCH_CALLERS", 4));
/** The server's batcher wait; the config default is 0 (an idle model takes the first call at once). */
const MAX_WAIT_MS = envInt("BENCH_MAX_WAIT_MS", 0);
/** Also run the plaintext latency and the throughput against a server in a child process (its own event loop). */
const SEPARATE = envInt("BENCH_SEPARATE", 1) > 0;
/** Internal: set in the forked child that hosts a model server for the separate-process runs. */
const CHILD = process.env["SLUICE_BENCH_CHILD"];
const QUERY = "how do I resume a failed job?";
const FAQ = "/work/shared/data/faq-en/corpus.jsonl";

// Warnings and errors only, on stderr: stdout is for the report and its last-line JSON.
const logger = pino({ level: "warn" }, pino.destination(2));
const monitor = new ManualDeviceMonitor();

interface Percentiles {
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
}

/** Nearest-rank percentiles of samples in ms, rounded to µs. */
function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
  return { p50_ms: round(at(50)), p95_ms: round(at(95)), p99_ms: round(at(99)) };
}

function round(ms: number, digits = 3): number {
  return Number(ms.toFixed(digits));
}

function fmt(p: Percentiles): string {
  return `p50 ${p.p50_ms.toFixed(3)} ms, p95 ${p.p95_ms.toFixed(3)} ms, p99 ${p.p99_ms.toFixed(3)} ms`;
}

/** Counts what reaches the backend, so the report shows how the server's batcher grouped texts. */
class CountingEmbedder implements DenseEmbedder {
  readonly inner: DenseEmbedder;
  calls = 0;
  texts = 0;

  constructor(inner: DenseEmbedder) {
    this.inner = inner;
  }

  get id(): string {
    return this.inner.id;
  }

  get dimensions(): number {
    return this.inner.dimensions;
  }

  get languages(): readonly string[] | undefined {
    return this.inner.languages;
  }

  warmUp(): Promise<void> {
    return this.inner.warmUp();
  }

  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    this.calls++;
    this.texts += texts.length;
    return this.inner.embed(texts, options);
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  reset(): void {
    this.calls = 0;
    this.texts = 0;
  }
}

interface TlsPaths {
  ca: string;
  cert: string;
  key: string;
}

async function startServer(embedder: DenseEmbedder, raw: Record<string, unknown>, serverTls?: TlsPaths): Promise<ModelServer> {
  const parsed = parseConfig({
    ...raw,
    modelServer: { services: ["embed"], batching: { maxWaitMs: MAX_WAIT_MS }, ...(serverTls ? { tls: { ...serverTls, allowedClients: ["sluice-gateway"] } } : {}) },
  });
  const models = new InProcessModels({ embedder: parsed.embedder, overrides: { embedder } });
  const server = await ModelServer.start({ config: parsed, listen: "127.0.0.1:0", models, monitor, logger });
  await server.ready();
  return server;
}

interface LatencyRun {
  wall: Percentiles;
  /** Wall time minus the server-reported model time of the same call. */
  minusInference: Percentiles;
  queue: Percentiles;
  inference: Percentiles;
}

/** Sequential one-text calls; warm-up calls are not recorded. */
async function inProcessLatency(embedder: DenseEmbedder): Promise<Percentiles> {
  await embedder.warmUp();
  const wall: number[] = [];
  for (let i = 0; i < WARMUP + CALLS; i++) {
    const started = process.hrtime.bigint();
    await embedder.embed([QUERY], { kind: "query" });
    if (i >= WARMUP) wall.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return percentiles(wall);
}

async function remoteLatency(embedder: RemoteEmbedder): Promise<LatencyRun> {
  await embedder.warmUp();
  const wall: number[] = [];
  const minus: number[] = [];
  const queue: number[] = [];
  const inference: number[] = [];
  for (let i = 0; i < WARMUP + CALLS; i++) {
    const started = process.hrtime.bigint();
    const { timing } = await embedder.embedWithTiming([QUERY], { kind: "query" });
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    if (i < WARMUP) continue;
    const inferenceMs = (timing?.inferenceTimeNs ?? 0) / 1e6;
    wall.push(ms);
    minus.push(ms - inferenceMs);
    queue.push((timing?.queueTimeNs ?? 0) / 1e6);
    inference.push(inferenceMs);
  }
  return { wall: percentiles(wall), minusInference: percentiles(minus), queue: percentiles(queue), inference: percentiles(inference) };
}

/** Short-to-medium texts: faq-en passages cut to MAX_CHARS at a word boundary (generated sentences if the file is absent). */
function benchTexts(): { texts: string[]; source: string } {
  let pool: string[] = [];
  if (existsSync(FAQ)) {
    pool = readFileSync(FAQ, "utf8")
      .split("\n")
      .filter((line) => line.trim().length > 0)
      .map((line) => (JSON.parse(line) as { text?: unknown }).text)
      .filter((t): t is string => typeof t === "string")
      .map((t) => t.replace(/\s+/g, " ").trim())
      .filter((t) => t.length >= 20)
      .map((t) => (t.length <= MAX_CHARS ? t : t.slice(0, t.lastIndexOf(" ", MAX_CHARS) > 0 ? t.lastIndexOf(" ", MAX_CHARS) : MAX_CHARS)));
  }
  const source = pool.length > 0 ? `${FAQ} (text fields, whitespace collapsed, cut to ≤${MAX_CHARS} chars)` : "generated sentences (faq-en corpus absent)";
  if (pool.length === 0) {
    const subjects = ["The ingest job", "A failed stage", "The spool", "Each worker", "The retriever", "A model server"];
    const verbs = ["retries", "records", "resumes", "indexes", "batches", "reports"];
    const objects = ["the documents it leased", "every chunk it embedded", "the job after a crash", "its queue depth", "the cited passages", "how long each call took"];
    for (let i = 0; i < TEXTS; i++) pool.push(`${subjects[i % 6]} ${verbs[Math.floor(i / 6) % 6]} ${objects[Math.floor(i / 36) % 6]} (note ${i}).`);
  }
  const texts = Array.from({ length: TEXTS }, (_, i) => pool[i % pool.length]!);
  return { texts, source };
}

/** `CALLERS` concurrent callers take batches of `BATCH` texts in order until none are left. */
async function throughput(embed: (batch: string[]) => Promise<Float32Array[]>, texts: readonly string[]): Promise<{ seconds: number; perS: number }> {
  const batches: string[][] = [];
  for (let i = 0; i < texts.length; i += BATCH) batches.push(texts.slice(i, i + BATCH));
  let next = 0;
  let vectors = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: CALLERS }, async () => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        const out = await embed(batch);
        vectors += out.length;
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  if (vectors !== texts.length) throw new Error(`throughput: ${vectors} vectors for ${texts.length} texts`);
  return { seconds, perS: texts.length / seconds };
}

type ChildRequest = { type: "stats" } | { type: "reset" } | { type: "close" };
type ChildReply = { type: "ready"; address: string } | { type: "stats"; calls: number; texts: number } | { type: "reset" } | { type: "closed" };

/** The forked child: a model server over `backend`, steered over IPC; it writes nothing to stdout. */
async function childMain(backend: string): Promise<void> {
  const embedder = new CountingEmbedder(backend === "use-lite" ? new UseLiteEmbedder({ batchSize: 16 }) : new HashEmbedder({ dimensions: 8 }));
  await embedder.warmUp();
  const raw = backend === "use-lite" ? { embedder: { backend: "use-lite", batchSize: 16 } } : { embedder: { backend: "hash", dimensions: 8 } };
  const server = await startServer(embedder, raw);
  const send = (reply: ChildReply) => process.send?.(reply);
  process.on("message", (msg: ChildRequest) => {
    if (msg.type === "stats") send({ type: "stats", calls: embedder.calls, texts: embedder.texts });
    else if (msg.type === "reset") {
      embedder.reset();
      send({ type: "reset" });
    } else {
      void server.close(1000).then(() => {
        send({ type: "closed" });
        process.disconnect();
      });
    }
  });
  send({ type: "ready", address: server.address });
}

interface ChildServer {
  address: string;
  ask(request: ChildRequest): Promise<ChildReply>;
  close(): Promise<void>;
}

/** Forks this file as a model server process (same node flags, so tsx loads it) and waits until it listens. */
async function forkServer(backend: "hash" | "use-lite"): Promise<ChildServer> {
  const child = fork(fileURLToPath(import.meta.url), [], { env: { ...process.env, SLUICE_BENCH_CHILD: backend }, stdio: ["ignore", "ignore", "inherit", "ipc"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const next = () =>
    new Promise<ChildReply>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`model server child exited (code ${code}) before answering`));
      child.once("exit", onExit);
      child.once("message", (reply: ChildReply) => {
        child.off("exit", onExit);
        resolve(reply);
      });
    });
  const ready = await next();
  if (ready.type !== "ready") throw new Error(`model server child: expected ready, got ${ready.type}`);
  return {
    address: ready.address,
    ask: (request) => {
      const reply = next();
      child.send(request);
      return reply;
    },
    close: async () => {
      if (child.exitCode === null && child.connected) {
        const reply = next().catch(() => undefined);
        child.send({ type: "close" });
        await reply;
      }
      await exited;
    },
  };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-bench-rpc-"));
  const closers: Array<() => Promise<void>> = [];
  try {
    const benchStarted = performance.now();
    console.log(`model RPC bench: node ${process.version}, server batching maxWaitMs ${MAX_WAIT_MS}`);
    console.log(`process layout: server and client run in THIS ONE process (loopback 127.0.0.1, one gRPC channel) for every headline number; "separate process" lines fork the server into a child on the same host`);
    console.log(`latency: ${CALLS} sequential Embed calls of one text ("${QUERY}", kind query) after ${WARMUP} warm-up calls, backend hash embedder (8-d, no model)`);

    // --- 1. Latency, no-op backend -------------------------------------------------------------
    const inprocess = await inProcessLatency(new HashEmbedder({ dimensions: 8 }));
    console.log(`in-process (DenseEmbedder port, direct): ${fmt(inprocess)}`);

    const hashRaw = { embedder: { backend: "hash", dimensions: 8 } };
    const plainServer = await startServer(new HashEmbedder({ dimensions: 8 }), hashRaw);
    const plainModels = new GrpcModels({ address: plainServer.address, timeoutMs: 10_000, maxInFlight: 8 });
    closers.push(() => plainServer.close(1000), () => plainModels.close());
    const grpcRun = await remoteLatency(plainModels.embedder() as RemoteEmbedder);
    await plainModels.close();
    await plainServer.close(1000);
    closers.length = 0;
    console.log(`gRPC plaintext (${plainServer.address}): ${fmt(grpcRun.wall)}`);
    console.log(`  server-reported per call: queue ${fmt(grpcRun.queue)}; inference ${fmt(grpcRun.inference)}`);
    console.log(`  wall minus server inference time, per call: ${fmt(grpcRun.minusInference)}`);

    const certs = await createDevCertificates({ dir: join(dir, "certs") });
    const client = certs.clients.find((c) => c.name === "sluice-gateway") ?? certs.clients[0]!;
    const tlsServer = await startServer(new HashEmbedder({ dimensions: 8 }), hashRaw, { ca: certs.ca.cert, cert: certs.server.cert, key: certs.server.key });
    // serverName "localhost" (a SAN of the dev server certificate): with a bare IP target grpc-js sets an IP as TLS SNI, which Node flags (DEP0123).
    const tlsModels = new GrpcModels({ address: tlsServer.address, timeoutMs: 10_000, maxInFlight: 8, tls: { ca: certs.ca.cert, cert: client.cert, key: client.key, serverName: "localhost" } });
    closers.push(() => tlsServer.close(1000), () => tlsModels.close());
    const tlsRun = await remoteLatency(tlsModels.embedder() as RemoteEmbedder);
    await tlsModels.close();
    await tlsServer.close(1000);
    closers.length = 0;
    console.log(`gRPC mTLS (${tlsServer.address}, dev CA, client CN ${client.name}, server name localhost, ECDSA P-256): ${fmt(tlsRun.wall)}`);
    console.log(`  wall minus server inference time, per call: ${fmt(tlsRun.minusInference)}`);

    let separateLatency: LatencyRun | null = null;
    if (SEPARATE) {
      const child = await forkServer("hash");
      const models = new GrpcModels({ address: child.address, timeoutMs: 10_000, maxInFlight: 8 });
      closers.push(() => child.close(), () => models.close());
      separateLatency = await remoteLatency(models.embedder() as RemoteEmbedder);
      await models.close();
      await child.close();
      closers.length = 0;
      console.log(`gRPC plaintext, server in a separate process (${child.address}): ${fmt(separateLatency.wall)}; minus server inference: ${fmt(separateLatency.minusInference)}`);
    }

    const overhead = round(grpcRun.wall.p95_ms - inprocess.p95_ms);
    const overheadMtls = round(tlsRun.wall.p95_ms - inprocess.p95_ms);
    const overheadMinusInference = grpcRun.minusInference.p95_ms;
    const overheadMtlsMinusInference = tlsRun.minusInference.p95_ms;
    console.log(`overhead_p95_ms = p95(gRPC wall) − p95(in-process wall) = ${overhead.toFixed(3)} ms plaintext; overhead_mtls_p95_ms = ${overheadMtls.toFixed(3)} ms (mTLS over plaintext: ${round(tlsRun.wall.p95_ms - grpcRun.wall.p95_ms).toFixed(3)} ms at p95, ${round(tlsRun.wall.p50_ms - grpcRun.wall.p50_ms).toFixed(3)} ms at p50)`);
    console.log(`overhead_p95_ms_minus_inference = p95 over calls of (gRPC wall − server-reported inference time) = ${overheadMinusInference.toFixed(3)} ms plaintext, ${overheadMtlsMinusInference.toFixed(3)} ms mTLS`);
    console.log(`target < 2 ms on loopback (the field's stated bar: 10 ms): plaintext ${overhead < 2 ? "MEETS" : "MISSES"} the 2 ms target, mTLS ${overheadMtls < 2 ? "MEETS" : "MISSES"} it`);

    // --- 2. Throughput, real model ---------------------------------------------------------------
    const { texts, source } = benchTexts();
    const chars = texts.reduce((n, t) => n + t.length, 0);
    console.log(`throughput: ${texts.length} texts (mean ${(chars / texts.length).toFixed(0)} chars) from ${source}, batches of ${BATCH}, ${CALLERS} concurrent callers on every path, model use-lite (batchSize 16), each path warmed with one batch first`);
    const useLite = new CountingEmbedder(new UseLiteEmbedder({ batchSize: 16 }));
    closers.push(() => useLite.close());
    await useLite.warmUp();
    const warmBatch = texts.slice(0, BATCH);
    await useLite.embed(warmBatch, { kind: "passage" });

    const inprocTp = await throughput((batch) => useLite.embed(batch, { kind: "passage" }), texts);
    console.log(`in-process: ${texts.length} texts in ${inprocTp.seconds.toFixed(2)} s → ${inprocTp.perS.toFixed(1)} texts/s`);

    // The same (already loaded) model behind a server in this process; its close() closes the model too.
    closers.length = 0;
    const liteServer = await startServer(useLite, { embedder: { backend: "use-lite", batchSize: 16 } });
    const liteModels = new GrpcModels({ address: liteServer.address, timeoutMs: 120_000, maxInFlight: Math.max(8, CALLERS) });
    closers.push(() => liteServer.close(1000), () => liteModels.close());
    const remote = liteModels.embedder() as RemoteEmbedder;
    await remote.warmUp();
    await remote.embed(warmBatch, { kind: "passage" });
    useLite.reset();
    const grpcTp = await throughput((batch) => remote.embed(batch, { kind: "passage" }), texts);
    const sameBatches = { calls: useLite.calls, texts: useLite.texts };
    console.log(`gRPC plaintext: ${texts.length} texts in ${grpcTp.seconds.toFixed(2)} s → ${grpcTp.perS.toFixed(1)} texts/s (${(grpcTp.perS / inprocTp.perS).toFixed(2)}× in-process); the server's batcher sent ${sameBatches.calls} batches (mean ${(sameBatches.texts / Math.max(1, sameBatches.calls)).toFixed(1)} texts) to the model`);
    await liteModels.close();
    await liteServer.close(1000);
    closers.length = 0;

    let separateTp: { seconds: number; perS: number; batches: number; meanBatch: number } | null = null;
    if (SEPARATE) {
      const child = await forkServer("use-lite");
      const models = new GrpcModels({ address: child.address, timeoutMs: 120_000, maxInFlight: Math.max(8, CALLERS) });
      closers.push(() => child.close(), () => models.close());
      const sep = models.embedder() as RemoteEmbedder;
      await sep.warmUp();
      await sep.embed(warmBatch, { kind: "passage" });
      await child.ask({ type: "reset" });
      const tp = await throughput((batch) => sep.embed(batch, { kind: "passage" }), texts);
      const stats = await child.ask({ type: "stats" });
      const batches = stats.type === "stats" ? stats.calls : 0;
      const meanBatch = stats.type === "stats" ? stats.texts / Math.max(1, stats.calls) : 0;
      separateTp = { ...tp, batches, meanBatch };
      await models.close();
      await child.close();
      closers.length = 0;
      console.log(`gRPC plaintext, server in a separate process: ${texts.length} texts in ${tp.seconds.toFixed(2)} s → ${tp.perS.toFixed(1)} texts/s (${(tp.perS / inprocTp.perS).toFixed(2)}× in-process); the server's batcher sent ${batches} batches (mean ${meanBatch.toFixed(1)} texts) to the model`);
    }

    const totalSeconds = (performance.now() - benchStarted) / 1000;
    console.log(`total bench time ${totalSeconds.toFixed(1)} s`);
    console.log(
      JSON.stringify({
        inprocess,
        grpc: grpcRun.wall,
        grpc_mtls: tlsRun.wall,
        overhead_p95_ms: overhead,
        overhead_mtls_p95_ms: overheadMtls,
        overhead_p95_ms_minus_inference: overheadMinusInference,
        overhead_mtls_p95_ms_minus_inference: overheadMtlsMinusInference,
        overhead_definition: "p95(grpc wall) - p95(in-process wall); *_minus_inference: p95 over calls of (grpc wall - server-reported inference time)",
        grpc_minus_inference: grpcRun.minusInference,
        grpc_server_queue: grpcRun.queue,
        grpc_server_inference: grpcRun.inference,
        grpc_separate_process: separateLatency?.wall ?? null,
        throughput: { inprocess: round(inprocTp.perS, 1), grpc: round(grpcTp.perS, 1), grpc_separate_process: separateTp ? round(separateTp.perS, 1) : null },
        throughput_model_batches: { grpc: sameBatches.calls, grpc_separate_process: separateTp?.batches ?? null },
        calls: CALLS,
        warmup: WARMUP,
        texts: texts.length,
        text_chars_mean: Math.round(chars / texts.length),
        batch: BATCH,
        callers: CALLERS,
        max_wait_ms: MAX_WAIT_MS,
        latency_backend: "hash-8",
        throughput_backend: "use-lite",
        same_process: true,
        seconds: round(totalSeconds, 1),
      }),
    );
  } finally {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

if (CHILD) await childMain(CHILD);
else await main();
