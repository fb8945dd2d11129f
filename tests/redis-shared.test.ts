import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { closeRedis, openRedis } from "../src/db/redis/open-redis.ts";
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from "../src/db/redis/redis.fixture.ts";
import { RedisCollectionLock } from "../src/locks/redis/redis-collection-lock.ts";
import { startCli, stopChild, workspace } from "./helpers/cli.ts";

interface Server {
  child: ChildProcess;
  url: string;
  stderr: () => string;
}

/** Starts `sluice serve --port 0` and resolves once it says where it listens. */
async function serve(args: string[]): Promise<Server> {
  const child = startCli([...args, "serve", "--port", "0"]);
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Buffer) => {
      stdout += d.toString();
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m) resolve(m[1]!);
    });
    child.once("exit", (code) => reject(new Error(`sluice serve exited ${code}: ${stderr}`)));
  });
  return { child, url, stderr: () => stderr };
}

async function stop(server: Server | undefined): Promise<void> {
  if (server) await stopChild(server.child);
}

async function post(
  server: Server,
  path: string,
  body: unknown,
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${server.url}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: res.status, headers: res.headers, json: (await res.json()) as Record<string, unknown> };
}

async function jobState(server: Server, id: string): Promise<string> {
  return ((await (await fetch(`${server.url}/v1/jobs/${id}`)).json()) as { state: string }).state;
}

/** Polls until `check` holds (each step a short pause, bounded so a broken build fails instead of hanging). */
async function until(what: string, check: () => Promise<boolean> | boolean): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`gave up waiting: ${what}`);
}

void describe("two `sluice serve` processes sharing one Redis", () => {
  const keyPrefix = testKeyPrefix();
  const ws = workspace(
    `embedder:\n  backend: hash\n  dimensions: 64\nredis:\n  url: ${TEST_REDIS_URL}\n  keyPrefix: "${keyPrefix}"\n`,
  );
  let a: Server | undefined;
  let b: Server | undefined;

  before(async () => {
    // One data directory for both: the way two API processes front one deployment's data.
    const args = ["--data", ws.data, "--config", ws.config];
    const started = await Promise.allSettled([serve(args), serve(args)]);
    [a, b] = started.map((s) => (s.status === "fulfilled" ? s.value : undefined));
    // One that failed to start must not leave the other running (it would keep this file alive).
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw failed.reason;
  });
  after(async () => {
    await Promise.all([stop(a), stop(b)]);
    await deleteKeys(keyPrefix);
  });

  void it("a collection lock held elsewhere holds back both servers' workers, without spending attempts, until it is released", async () => {
    // Another live process (another host, so no pid check can call it dead) holds the lock.
    const lock = new RedisCollectionLock({ url: TEST_REDIS_URL, keyPrefix });
    const other = "elsewhere:1:holder";
    assert.equal(await lock.acquire("handbook", other, 60_000), true);
    try {
      const upload = await post(a!, "/v1/collections/handbook/documents", {
        documents: [
          { id: "resume", text: "To resume a failed job run sluice jobs resume with the job id." },
          { id: "cats", text: "Cats sleep most of the day and hunt at dusk." },
        ],
      });
      assert.equal(upload.status, 202, JSON.stringify(upload.json));
      const jobId = String(upload.json["jobId"]);
      const ledger = new Database(join(ws.data, "ledger.db"), { readonly: true });
      try {
        const refused = () =>
          ledger
            .prepare<[string], { n: number }>(
              "select count(*) as n from spool where job_id = ? and last_error like 'COLLECTION_LOCKED:%'",
            )
            .get(jobId)!.n;
        await until("a worker is refused the lock", () => refused() > 0);
        assert.notEqual(await jobState(a!, jobId), "COMPLETED");
        assert.equal((await lock.holder("handbook"))?.owner, other, "nobody took the live holder's lock");

        assert.equal(await lock.release("handbook", other), true);
        await until("the job completes once the lock is free", async () => (await jobState(b!, jobId)) === "COMPLETED");
        const attempts = ledger
          .prepare<[string], { attempts: number }>("select attempts from spool where job_id = ?")
          .all(jobId)
          .map((r) => r.attempts);
        assert.deepEqual(attempts, [1, 1], "refusals were refunded: each document ran on its first attempt");
      } finally {
        ledger.close();
      }
      // Released once nothing of the collection is in flight.
      const redis = openRedis(TEST_REDIS_URL);
      try {
        await until(
          "the worker releases the lock",
          async () => (await redis.exists(`${keyPrefix}lock:collection:handbook`)) === 0,
        );
      } finally {
        await closeRedis(redis);
      }
    } finally {
      await lock.close();
    }
  });

  void it("rate limits are shared: 6 answered queries to A and 5 to B → the 11th gets 429; retrieval-only still passes on both", async () => {
    const ask = (server: Server, answer?: boolean) =>
      post(server, "/v1/query", {
        collection: "handbook",
        query: "how do I resume a job?",
        ...(answer === undefined ? {} : { answer }),
      });
    for (let i = 0; i < 6; i++) assert.equal((await ask(a!)).status, 200, `A #${i + 1}`);
    for (let i = 0; i < 4; i++) assert.equal((await ask(b!, true)).status, 200, `B #${i + 1}`);
    const eleventh = await ask(b!);
    assert.equal(eleventh.status, 429, JSON.stringify(eleventh.json));
    assert.equal(eleventh.json["code"], "RATE_LIMITED");
    assert.match(String(eleventh.headers.get("retry-after")), /^[1-9]\d*$/);
    assert.equal((await ask(a!)).status, 429, "A refuses too: one budget");
    assert.equal((await ask(a!, false)).status, 200);
    assert.equal((await ask(b!, false)).status, 200);
  });
});
