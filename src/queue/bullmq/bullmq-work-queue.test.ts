import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tcpProxy } from "../../db/tcp-proxy.fixture.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, describe, it } from "node:test";
import type { DocumentRef } from "../../contracts/index.ts";
import { closeRedis, openRedis } from "../../db/redis/open-redis.ts";
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from "../../db/redis/redis.fixture.ts";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../../db/postgres/postgres.fixture.ts";
import { postgresStores } from "../postgres/postgres-stores.ts";
import { sqliteStores } from "../sqlite/sqlite-stores.ts";
import { describeWorkQueueConformance } from "../work-queue.conformance.ts";
import {
  DEFAULT_LANE_WEIGHTS,
  type AdmittedDocument,
  type DocumentOutcome,
  type Lane,
  type Lease,
} from "../work-queue.ts";
import { bullmqStores } from "./bullmq-stores.ts";
import type { BullmqWorkQueue, BullmqWorkQueueOptions } from "./bullmq-work-queue.ts";
import { LaneTokens } from "./lane-tokens.ts";

const prefixes: string[] = [];
const newPrefix = () => {
  const prefix = testKeyPrefix();
  prefixes.push(prefix);
  return prefix;
};
after(async () => {
  for (const prefix of prefixes) await deleteKeys(prefix);
});

const ledgerPath = () => join(mkdtempSync(join(tmpdir(), "sluice-bullmq-")), "ledger.db");
const stores = (path: string, keyPrefix: string, extra: Partial<BullmqWorkQueueOptions> = {}) =>
  bullmqStores(sqliteStores(path), { redis: { url: TEST_REDIS_URL, keyPrefix }, ...extra });

const docs = (n: number, prefix: string, lane: Lane): AdmittedDocument[] =>
  Array.from({ length: n }, (_, i) => {
    const ref: DocumentRef = {
      id: `${prefix}${i}`,
      source: `${prefix}${i}.txt`,
      kind: "inline",
      text: `text ${i}`,
      meta: {},
    };
    return { ref, lane, envelope: new TextEncoder().encode(`envelope ${prefix}${i}`) };
  });
const done = (r: Lease): DocumentOutcome => ({
  seq: r.seq,
  jobId: r.jobId,
  docId: r.docId,
  outcome: "inserted",
  stages: [],
});
const spec = { collection: "c", pipeline: "auto", paths: [] };

/** Counts the records a queue leases through BullMQ tokens (claimed by seq) rather than from the record queue. */
function countClaims(queue: BullmqWorkQueue): { n: number } {
  const counter = { n: 0 };
  const claim = queue.records.claim.bind(queue.records);
  queue.records.claim = async (...args) => {
    const leases = await claim(...args);
    counter.n += leases.length;
    return leases;
  };
  return counter;
}

/** Tokens BullMQ holds under `keyPrefix` (its job hashes, not their locks). */
async function tokenCount(keyPrefix: string): Promise<number> {
  const redis = openRedis(TEST_REDIS_URL);
  try {
    let cursor = "0";
    let n = 0;
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${keyPrefix}lane-*:rec-*`, "COUNT", 1000);
      cursor = next;
      n += keys.filter((k) => !k.endsWith(":lock")).length;
    } while (cursor !== "0");
    return n;
  } finally {
    await closeRedis(redis);
  }
}

/**
 * A TCP proxy in front of the test Redis, to cut it off and bring it back (the real one is shared,
 * so it is never stopped).
 */
async function redisProxy(): Promise<{ url: string; stop(): Promise<void>; start(): Promise<void> }> {
  const target = new URL(TEST_REDIS_URL);
  const proxy = await tcpProxy(target.hostname, Number(target.port || 6379));
  const url = new URL(TEST_REDIS_URL);
  url.hostname = "127.0.0.1";
  url.port = String(proxy.port);
  return { url: url.toString(), start: () => proxy.start(), stop: () => proxy.stop() };
}

describeWorkQueueConformance("bullmq over sqlite", async () => stores(ledgerPath(), newPrefix()));

// The production pairing: PostgreSQL as the system of record under BullMQ.
const pgSchema = testSchema();
let pgReached = false;
after(async () => {
  if (pgReached) await dropTestSchema(pgSchema);
});
describeWorkQueueConformance("bullmq over postgres", async () => {
  await ensureTestDatabase();
  pgReached = true;
  return bullmqStores(postgresStores({ url: TEST_DATABASE_URL, schema: pgSchema }), {
    redis: { url: TEST_REDIS_URL, keyPrefix: newPrefix() },
  });
});

void describe("BullmqWorkQueue dispatch", () => {
  void it("dispatches through BullMQ lane-fairly, one token per record, and removes the tokens it settles", async () => {
    const keyPrefix = newPrefix();
    const s = stores(ledgerPath(), keyPrefix);
    await s.open();
    try {
      assert.equal(s.queue.dispatching, true);
      const job = await s.ledger.createJob(spec);
      await s.queue.admit(job.id, [...docs(200, "b", "bulk"), ...docs(200, "h", "high"), ...docs(200, "n", "normal")]);
      assert.equal(await tokenCount(keyPrefix), 600);
      assert.equal(await s.queue.sweep(), 600, "a sweep offers every dispatchable record again");
      assert.equal(await tokenCount(keyPrefix), 600, "duplicate tokens collapse");
      const leased = await s.queue.lease("w", 100, 60_000);
      const lanes = leased.reduce<Record<string, number>>((a, r) => ({ ...a, [r.lane]: (a[r.lane] ?? 0) + 1 }), {});
      assert.deepEqual(lanes, { high: 60, normal: 30, bulk: 10 });
      assert.equal(await tokenCount(keyPrefix), 500);
      await s.queue.complete(leased.map(done));
    } finally {
      await s.close();
    }
  });

  void it("a released record comes back through a delayed token; a timed wait ends through its token; a signal re-dispatches", async () => {
    const s = stores(ledgerPath(), newPrefix());
    await s.open();
    try {
      const job = await s.ledger.createJob(spec);
      await s.queue.admit(job.id, docs(2, "d", "normal"));
      const [a, b] = await s.queue.lease("w", 2, 60_000);
      await s.queue.release(a!.seq, { error: "MODEL_UNAVAILABLE: down", notBefore: Date.now() + 300 });
      await s.queue.wait(b!.seq, { condition: `never:${job.id}`, until: Date.now() + 300 });
      assert.deepEqual(await s.queue.lease("w", 2, 60_000), [], "neither is due yet");
      await sleep(400);
      const back = await s.queue.lease("w", 2, 60_000);
      assert.deepEqual(back.map((r) => [r.docId, r.attempts]).sort(), [
        ["d0", 2],
        ["d1", 1],
      ]);
      await s.queue.wait(back[0]!.seq, { condition: `ready:${job.id}` });
      assert.equal(await s.queue.signal(`ready:${job.id}`), 1);
      assert.deepEqual(
        (await s.queue.lease("w", 2, 60_000)).map((r) => r.seq),
        [back[0]!.seq],
      );
    } finally {
      await s.close();
    }
  });

  void it("a sweep gives orphans (committed, but their process died before writing Redis) their tokens", async () => {
    const s = stores(ledgerPath(), newPrefix());
    await s.open();
    try {
      const claims = countClaims(s.queue);
      assert.deepEqual(await s.queue.lease("w", 5, 60_000), []);
      const job = await s.ledger.createJob(spec);
      await s.queue.records.admit(job.id, docs(3, "o", "bulk"));
      assert.deepEqual(await s.queue.lease("w", 5, 60_000), [], "no token, no dispatch");
      assert.equal(await s.queue.sweep(), 3);
      assert.deepEqual(
        (await s.queue.lease("w", 5, 60_000)).map((r) => r.docId),
        ["o0", "o1", "o2"],
      );
      assert.equal(claims.n, 3);
    } finally {
      await s.close();
    }
  });

  void it("loses no document and runs none twice when Redis restarts empty, with two processes leasing", async () => {
    const keyPrefix = newPrefix();
    const path = ledgerPath();
    const a = stores(path, keyPrefix);
    const b = stores(path, keyPrefix);
    await a.open();
    await b.open();
    const runs = new Map<string, number>();
    const run = async (queue: typeof a.queue, leases: Lease[]) => {
      for (const r of leases) runs.set(r.docId, (runs.get(r.docId) ?? 0) + 1);
      await queue.complete(leases.map(done));
    };
    try {
      const job = await a.ledger.createJob(spec);
      await a.queue.admit(job.id, [...docs(250, "n", "normal"), ...docs(150, "h", "high"), ...docs(100, "b", "bulk")]);
      await a.ledger.sealJob(job.id);
      await run(a.queue, await a.queue.lease("A", 100, 60_000));
      await run(b.queue, await b.queue.lease("B", 50, 60_000));
      assert.equal(runs.size, 150);
      assert.equal(await tokenCount(keyPrefix), 350);

      await deleteKeys(keyPrefix); // Redis restarted with nothing
      await sleep(1_100);
      let rebuilt = 0;
      for (let i = 0; i < 40 && rebuilt === 0; i++) {
        await run(a.queue, await a.queue.lease("A", 1, 60_000));
        await sleep(50);
        rebuilt = await tokenCount(keyPrefix);
      }
      assert.ok(rebuilt >= 300, `the tokens are rebuilt from the record queue (${rebuilt})`);
      const claims = [countClaims(a.queue), countClaims(b.queue)];
      const deadline = Date.now() + 20_000;
      while (runs.size < 500 && Date.now() < deadline) {
        const [fromA, fromB] = await Promise.all([a.queue.lease("A", 25, 60_000), b.queue.lease("B", 25, 60_000)]);
        await Promise.all([run(a.queue, fromA), run(b.queue, fromB)]);
        if (fromA.length + fromB.length === 0) await sleep(50);
      }
      assert.equal(runs.size, 500, "every document ran");
      assert.deepEqual(
        [...runs.values()].filter((n) => n !== 1),
        [],
        "none ran twice",
      );
      assert.equal(await a.queue.liveCount(job.id), 0);
      const finished = await a.ledger.finishIfDone(job.id);
      assert.deepEqual([finished?.state, finished?.done], ["COMPLETED", 500]);
      assert.ok(a.queue.dispatching && b.queue.dispatching, "both are back on BullMQ");
      assert.ok(
        claims.every((c) => c.n > 0),
        `both lease through the rebuilt tokens (${claims.map((c) => c.n).join(", ")})`,
      );
      assert.equal(await tokenCount(keyPrefix), 0, "no token is left behind");
    } finally {
      await a.close();
      await b.close();
    }
  });

  void it("goes on through the record queue when Redis is unreachable, quietly", async () => {
    const errors: Error[] = [];
    const printed: unknown[] = [];
    const original = { log: console.log, warn: console.warn, error: console.error };
    console.log = console.warn = console.error = (...args: unknown[]) => printed.push(args);
    const s = bullmqStores(sqliteStores(ledgerPath()), {
      redis: { url: "redis://127.0.0.1:1", keyPrefix: "sluice-test-down:" },
      connectTimeoutMs: 200,
      onError: (e) => errors.push(e),
    });
    try {
      await s.open();
      assert.equal(s.queue.dispatching, false);
      const job = await s.ledger.createJob(spec);
      await s.queue.admit(job.id, [...docs(5, "h", "high"), ...docs(5, "b", "bulk")]);
      await s.ledger.sealJob(job.id);
      const first = await s.queue.lease("w", 4, 60_000);
      assert.equal(first.length, 4);
      await s.queue.release(first[0]!.seq, { notBefore: 0, refund: true });
      const rest = await s.queue.lease("w", 20, 60_000);
      assert.equal(new Set([...first, ...rest].map((r) => r.docId)).size, 10);
      await s.queue.complete([...first.slice(1), ...rest].map(done));
      assert.equal((await s.ledger.finishIfDone(job.id))?.state, "COMPLETED");
      assert.equal(errors.length, 1, "told once that Redis is down");
    } finally {
      const closing = Date.now();
      await s.close();
      Object.assign(console, original);
      assert.ok(Date.now() - closing < 3_000, "closing does not wait for Redis");
    }
    assert.deepEqual(printed, []);
  });

  void it("falls back to the record queue during an outage and returns to BullMQ after it", async () => {
    const outage = await redisProxy();
    const keyPrefix = newPrefix();
    const errors: Error[] = [];
    const s = bullmqStores(sqliteStores(ledgerPath()), {
      redis: { url: outage.url, keyPrefix },
      connectTimeoutMs: 300,
      commandTimeoutMs: 500,
      epochCheckMs: 100,
      onError: (e) => errors.push(e),
    });
    const runs = new Map<string, number>();
    const run = async (leases: Lease[]) => {
      for (const r of leases) runs.set(r.docId, (runs.get(r.docId) ?? 0) + 1);
      await s.queue.complete(leases.map(done));
    };
    await s.open();
    try {
      const job = await s.ledger.createJob(spec);
      await s.queue.admit(job.id, docs(10, "before", "normal"));
      await run(await s.queue.lease("w", 3, 60_000));
      assert.equal(await tokenCount(keyPrefix), 7);

      await outage.stop();
      await run(await s.queue.lease("w", 3, 60_000));
      assert.equal(s.queue.dispatching, false);
      await s.queue.admit(job.id, docs(50, "during", "high"));
      await run(await s.queue.lease("w", 3, 60_000));
      assert.equal(runs.size, 9, "work goes on while Redis is out of reach");

      await outage.start();
      const deadline = Date.now() + 10_000;
      while (!s.queue.dispatching && Date.now() < deadline) {
        await run(await s.queue.lease("w", 1, 60_000));
        await sleep(100);
      }
      assert.equal(s.queue.dispatching, true, "back on BullMQ");
      assert.ok(
        runs.size < 40 && (await tokenCount(keyPrefix)) >= 60 - runs.size,
        "what was admitted during the outage has its tokens again",
      );
      const claims = countClaims(s.queue);
      const left = 60 - runs.size;
      while (runs.size < 60 && Date.now() < deadline) await run(await s.queue.lease("w", 4, 60_000));
      assert.equal(runs.size, 60);
      assert.ok(claims.n >= left / 2, `most of the rest came through BullMQ (${claims.n} of ${left})`);
      assert.deepEqual(
        [...runs.values()].filter((n) => n !== 1),
        [],
      );
      assert.equal(errors.length, 1, "told once per outage");
    } finally {
      await s.close();
      await outage.stop();
    }
  });

  void it("reaps tokens a process took and died holding, so their records can be dispatched again", async () => {
    const prefix = newPrefix().replace(/:$/, "");
    const options = { url: TEST_REDIS_URL, prefix, connectTimeoutMs: 1_000, commandTimeoutMs: 2_000 };
    const dead = new LaneTokens({ ...options, lockMs: 200 });
    const live = new LaneTokens(options);
    await dead.connect();
    await live.connect();
    try {
      await dead.offer([{ seq: 1, lane: "high", notBefore: 0 }]);
      assert.deepEqual(
        (await dead.take(4, DEFAULT_LANE_WEIGHTS)).map((t) => t.seq),
        [1],
      );
      await live.offer([{ seq: 1, lane: "high", notBefore: 0 }]);
      assert.deepEqual(await live.take(4, DEFAULT_LANE_WEIGHTS), [], "the taken token still stands for its record");
      await sleep(300);
      assert.equal(await live.reap(), 1);
      await live.offer([{ seq: 1, lane: "high", notBefore: 0 }]);
      const again = await live.take(4, DEFAULT_LANE_WEIGHTS);
      assert.deepEqual(
        again.map((t) => t.seq),
        [1],
      );
      await live.settle(again);
    } finally {
      await dead.close();
      await live.close();
    }
  });
});
