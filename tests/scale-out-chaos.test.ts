import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../src/db/postgres/postgres.fixture.ts";
import { json, ROOT, runCli, startCli, stopChild, workspace } from "./helpers/cli.ts";
import { OwnRedis } from "./helpers/redis-server.ts";

const N = 1500;
const BATCH = 50;
const KILLS = 20;

interface JobBody {
  id: string;
  state: string;
  total: number;
  done: number;
  failed: number;
}

/** Resolves with the base URL once `serve` prints it; rejects if it exits or takes a minute. */
function listening(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`gateway not listening after 60 s; stdout: ${out}`)), 60_000);
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before listening`));
    });
  });
}

const FAULTS = join(ROOT, "tests", "helpers", "fault-injection.ts");

const scaleOutConfig = (schema: string, redisUrl: string, prefix: string) =>
  [
    "embedder:\n  backend: hash\n  dimensions: 64",
    "database: postgres",
    `postgres:\n  schema: ${schema}`,
    "queue: bullmq",
    `redis:\n  url: ${redisUrl}\n  keyPrefix: "${prefix}"`,
    "locks:\n  collections: false",
    "spool:\n  leaseMs: 5000",
    "ingest:\n  concurrency: 8",
    "",
  ].join("\n");

/** Resolves once the child has exited (at once if it already has, by a code or a signal). */
const exited = (child: ChildProcess) =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise<void>((resolve) => child.once("exit", () => resolve()));

describe("scale-out on PostgreSQL + BullMQ under chaos", () => {
  const schema = testSchema();
  let redis: OwnRedis;
  before(async () => {
    await ensureTestDatabase();
    redis = await OwnRedis.start();
  });
  after(async () => {
    await redis.stop();
    await dropTestSchema(schema);
  });

  it(`2 gateways, 3 workers SIGKILLed ${KILLS} times, Redis restarted empty once: every accepted document indexed exactly once, none dead-lettered, every job ends`, async () => {
    const ws = workspace(scaleOutConfig(schema, redis.url, "chaos:"));
    const env = { SLUICE_DATABASE_URL: TEST_DATABASE_URL };
    const args = ["--data", ws.data, "--config", ws.config];
    const gateways = [
      startCli([...args, "serve", "--no-worker", "--port", "0"], { env }),
      startCli([...args, "serve", "--no-worker", "--port", "0"], { env }),
    ];
    const urls = await Promise.all(gateways.map(listening));
    const started = Date.now();
    const progress = (what: string) => console.log(`# chaos +${((Date.now() - started) / 1000).toFixed(1)}s: ${what}`);
    const logTail: string[] = [];
    const watch = (child: ChildProcess, name: string) => {
      child.stderr!.on("data", (d: Buffer) => {
        logTail.push(
          ...d
            .toString()
            .split("\n")
            .filter(Boolean)
            .map((l) => `${name}: ${l}`),
        );
        logTail.splice(0, Math.max(0, logTail.length - 200));
      });
      return child;
    };
    gateways.forEach((g, i) => watch(g, `gateway ${i}`));
    let spawned = 0;
    const killed = new Set<ChildProcess>();
    const startWorker = () => {
      const name = `worker ${spawned++}`;
      const child = watch(startCli([...args, "worker"], { env }), name);
      child.once("exit", (code, signal) => {
        if (!killed.has(child)) progress(`${name} exited by itself (code ${code}, signal ${signal})`);
      });
      return child;
    };
    const workers: ChildProcess[] = [0, 1, 2].map(startWorker);
    progress("2 gateways and 3 workers up");

    try {
      // Clients post through both gateways, each batch until it gets its 202; a 503 (a store
      // away for a moment) is retried after its Retry-After.
      const jobIds: string[] = [];
      const refused: string[] = [];
      const postDeadline = Date.now() + 120_000;
      const post = async (from: number) => {
        const documents = Array.from({ length: BATCH }, (_, i) => ({
          id: `d${from + i}`,
          text: `Document ${from + i} on subject ${(from + i) % 29}. A second sentence follows.`,
        }));
        // Bounded, so that gateways that never recover fail the test instead of hanging it.
        let last = "";
        for (let attempt = 0; Date.now() < postDeadline; attempt++) {
          const url = urls[(from / BATCH + attempt) % 2]!;
          try {
            const res = await fetch(`${url}/v1/collections/c/documents`, {
              method: "POST",
              headers: { "content-type": "application/json" },
              body: JSON.stringify({ documents }),
              signal: AbortSignal.timeout(10_000),
            });
            const body = (await res.json()) as { jobId?: string };
            if (res.status === 202) return jobIds.push(body.jobId!);
            assert.ok([429, 503].includes(res.status), `unexpected ${res.status}: ${JSON.stringify(body)}`);
            last = `${res.status} ${JSON.stringify(body)}`;
            await sleep(Number(res.headers.get("retry-after") ?? 1) * 200);
          } catch (error) {
            // Not retried: the batch may have been admitted, and a second post would admit it twice.
            if (!(error instanceof Error && error.name === "TimeoutError")) throw error;
            last = `no answer from ${url} within 10 s`;
            break;
          }
        }
        refused.push(`batch d${from}: ${last}`);
        return 0;
      };
      const clients = (async () => {
        for (let from = 0; from < N; from += BATCH * 2)
          await Promise.all([post(from), from + BATCH < N ? post(from + BATCH) : Promise.resolve(0)]);
      })();

      let seed = 11;
      const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
      for (let kill = 0; kill < KILLS; kill++) {
        await sleep(300 + random() * 900);
        const i = Math.floor(random() * workers.length);
        killed.add(workers[i]!);
        workers[i]!.kill("SIGKILL");
        await exited(workers[i]!);
        workers[i] = startWorker();
        if (kill === KILLS / 2) {
          await redis.restartEmpty();
          progress("Redis restarted empty");
        }
      }
      progress(`${KILLS} workers killed`);
      await clients;
      progress(`${jobIds.length} of ${N / BATCH} batches accepted`);
      if (refused.length > 0)
        assert.fail(`batches never accepted:\n${refused.join("\n")}\nlast log lines:\n${logTail.join("\n")}`);
      assert.equal(jobIds.length, N / BATCH);

      // Every job ends, within 90 s of the last batch's 202.
      const ended = new Map<string, JobBody>();
      const open = new Map<string, JobBody>();
      const deadline = Date.now() + 90_000;
      while (ended.size < jobIds.length && Date.now() < deadline) {
        for (const id of jobIds.filter((j) => !ended.has(j))) {
          const job = (await (
            await fetch(`${urls[0]}/v1/jobs/${id}?limit=0`, { signal: AbortSignal.timeout(30_000) })
          ).json()) as JobBody;
          if (["COMPLETED", "FAILED", "CANCELLED"].includes(job.state)) {
            ended.set(id, job);
            open.delete(id);
          } else open.set(id, job);
        }
        if (ended.size < jobIds.length) await sleep(200);
      }
      progress(`${ended.size} of ${jobIds.length} jobs ended`);
      if (ended.size < jobIds.length) {
        const spool = await (await fetch(`${urls[1]}/v1/spool`)).text();
        assert.fail(
          `${jobIds.length - ended.size} jobs never ended: ${JSON.stringify([...open.values()])}\n` +
            `spool: ${spool}\nlast log lines:\n${logTail.join("\n")}`,
        );
      }
      assert.deepEqual([...new Set([...ended.values()].map((j) => j.state))], ["COMPLETED"]);
      assert.equal(
        [...ended.values()].reduce((a, j) => a + j.done, 0),
        N,
      );
      assert.equal(
        [...ended.values()].reduce((a, j) => a + j.failed, 0),
        0,
      );
      const spool = (await (await fetch(`${urls[1]}/v1/spool`)).json()) as {
        dead: number;
        leased: number;
        waiting: number;
        pending: Record<string, number>;
      };
      assert.deepEqual(
        [spool.dead, spool.leased, spool.pending["normal"]],
        [0, 0, 0],
        "none dead-lettered, nothing left",
      );
    } finally {
      workers.forEach((w) => killed.add(w));
      await Promise.all([...workers, ...gateways].map((child) => stopChild(child)));
    }

    // Indexed exactly once, in the shared PostgreSQL index: every document has its chunks, and no
    // chunk is there twice.
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await client.connect();
    const count = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
    const docs = await count(`select count(distinct doc_id) as n from ${schema}.index_chunks`);
    const dupes = await count(
      `select count(*) as n from (select doc_id, ordinal from ${schema}.index_chunks group by doc_id, ordinal having count(*) > 1) t`,
    );
    await client.end();
    assert.equal(docs, N);
    assert.equal(dupes, 0);
    assert.equal(
      json<{ documents: number }>(
        await runCli([...args, "--json", "stats", "--collection", "c"], { env, timeoutMs: 60_000 }),
      ).documents,
      N,
    );
  });

  it("cancel from a gateway stops the documents in flight on every worker", async () => {
    const ws = workspace(scaleOutConfig(schema, redis.url, "cancel:"));
    const env = { SLUICE_DATABASE_URL: TEST_DATABASE_URL, SLUICE_TEST_EMBED_MS: "60000" };
    const args = ["--data", ws.data, "--config", ws.config];
    const gateway = startCli([...args, "serve", "--no-worker", "--port", "0"], { env });
    // Each worker writes its stage events to a file of its own.
    const eventFiles = [0, 1].map((i) => join(ws.dir, `events-${i}.jsonl`));
    const workers = eventFiles.map((file) =>
      startCli([...args, "worker"], {
        env: { ...env, SLUICE_EVENTS_FILE: file, SLUICE_LOG_LEVEL: "info" },
        preload: [FAULTS],
      }),
    );
    const logs = workers.map((w) => {
      const lines: string[] = [];
      w.stderr!.on("data", (d: Buffer) => lines.push(d.toString()));
      return lines;
    });
    const embedEvents = () =>
      eventFiles.map((file) => {
        const lines = existsSync(file) ? readFileSync(file, "utf8").split("\n").filter(Boolean) : [];
        const events = lines
          .map(
            (l) =>
              JSON.parse(l) as { type: string; subject: string; data?: { stage?: string; error?: { code: string } } },
          )
          .filter((e) => e.data?.stage === "embed");
        return {
          started: events.filter((e) => e.type === "io.sluice.stage.started").length,
          cancelled: events.filter(
            (e) => e.type === "io.sluice.stage.failed" && e.data?.error?.code === "JOB_CANCELLED",
          ).length,
          completed: events.filter((e) => e.type === "io.sluice.stage.completed").length,
        };
      });
    try {
      const url = await listening(gateway);
      const documents = Array.from({ length: 40 }, (_, i) => ({ id: `slow${i}`, text: `Slow document ${i}.` }));
      const res = await fetch(`${url}/v1/collections/slow/documents`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ documents }),
      });
      const { jobId } = (await res.json()) as { jobId: string };
      // Both workers hold documents of the job, each stuck in a one-minute embedding.
      for (let i = 0; i < 300 && !embedEvents().every((e) => e.started === 8); i++) await sleep(100);
      assert.deepEqual(
        embedEvents().map((e) => e.started),
        [8, 8],
        "each worker embeds 8 documents at once",
      );

      const cancelledAt = Date.now();
      assert.equal((await fetch(`${url}/v1/jobs/${jobId}/cancel`, { method: "POST" })).status, 200);
      // Each worker notices at its next heartbeat and aborts the embeddings it has in flight.
      for (let i = 0; i < 400 && !embedEvents().every((e) => e.cancelled === 8); i++) await sleep(25);
      console.log(`# cancel reached every document in flight, on both workers, after ${Date.now() - cancelledAt} ms`);
      assert.deepEqual(
        embedEvents(),
        [
          { started: 8, cancelled: 8, completed: 0 },
          { started: 8, cancelled: 8, completed: 0 },
        ],
        logs.map((l, i) => `worker ${i}:\n${l.join("").slice(-3000)}`).join("\n"),
      );
      const job = (await (await fetch(`${url}/v1/jobs/${jobId}`)).json()) as JobBody & {
        documents: Array<{ state: string }>;
      };
      assert.equal(job.state, "CANCELLED");
      assert.deepEqual([...new Set(job.documents.map((d) => d.state))], ["CANCELLED"]);
    } finally {
      for (const child of [...workers, gateway]) child.kill("SIGKILL");
      await Promise.all([...workers, gateway].map(exited));
    }
  });
});
