import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, statSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildApp } from "../src/api/app.ts";
import { parseConfig } from "../src/config/load-config.ts";
import type { Job } from "../src/contracts/index.ts";
import { openSqlite } from "../src/db/open-sqlite.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { sqliteStores } from "../src/queue/sqlite/sqlite-stores.ts";

const temp = () => mkdtempSync(join(tmpdir(), "sluice-durable-"));
const open = (dataDir: string, config: Record<string, unknown> = {}) =>
  Sluice.open({ dataDir, config: parseConfig(config), embedder: new HashEmbedder({ dimensions: 32 }) });
interface ErrorBody {
  code: string;
  message: string;
}
const docs = (n: number, size = 100, prefix = "d") =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, text: `Document ${i}. ${"word ".repeat(size / 5)}` }));

describe("spool durability", () => {
  it("recovers from a torn WAL tail: every whole commit is there, the torn one is gone, the file is sound", async () => {
    const dir = temp();
    const live = sqliteStores(join(dir, "ledger.db"));
    await live.open();
    const job = await live.ledger.createJob({ collection: "c", pipeline: "auto", paths: [] });
    for (let i = 0; i < 10; i++) {
      await live.queue.admit(job.id, [
        {
          ref: { id: `d${i}`, source: `d${i}`, kind: "inline", text: "", meta: {} },
          lane: "normal",
          envelope: new TextEncoder().encode(`envelope ${i} ${"x".repeat(500)}`),
        },
      ]);
    }
    // Snapshot the files as a crash would leave them (no checkpoint), then tear the last frame.
    const crashed = temp();
    copyFileSync(join(dir, "ledger.db"), join(crashed, "ledger.db"));
    copyFileSync(join(dir, "ledger.db-wal"), join(crashed, "ledger.db-wal"));
    await live.close();
    const wal = join(crashed, "ledger.db-wal");
    truncateSync(wal, statSync(wal).size - 100);

    const db = openSqlite(join(crashed, "ledger.db"));
    assert.equal(db.pragma("integrity_check", { simple: true }), "ok");
    db.close();
    const recovered = sqliteStores(join(crashed, "ledger.db"));
    await recovered.open();
    const leased = await recovered.queue.lease("w", 100, 60_000);
    assert.deepEqual(
      leased.map((r) => r.docId),
      ["d0", "d1", "d2", "d3", "d4", "d5", "d6", "d7", "d8"],
    );
    assert.match(new TextDecoder().decode(leased[8]!.envelope), /^envelope 8 x+$/);
    await recovered.close();
  });

  it("a full disk refuses the batch with 429 and Retry-After, keeps what it had, and accepts again once there is room", async () => {
    const sluice = await open(temp());
    const app = await buildApp(sluice, { logger: false });
    try {
      const first = await app.inject({
        method: "POST",
        url: "/v1/collections/c/documents",
        payload: { documents: docs(20) },
      });
      assert.equal(first.statusCode, 202);
      // Cap the ledger file a few pages above its size: the disk is "full".
      const db = (sluice.ledger as unknown as { db: import("better-sqlite3").Database }).db;
      const pages = db.pragma("page_count", { simple: true }) as number;
      db.pragma(`max_page_count = ${pages + 4}`);
      const full = await app.inject({
        method: "POST",
        url: "/v1/collections/c/documents",
        payload: { documents: docs(200, 4000, "big") },
      });
      assert.equal(full.statusCode, 429, full.body);
      const body = full.json<ErrorBody>();
      assert.equal(body.code, "BACKPRESSURE");
      assert.match(body.message, /disk is full/);
      assert.equal(full.headers["retry-after"], "30");
      assert.equal(
        (await sluice.spoolStats()).pending.normal,
        20,
        "the refused batch left nothing behind, the accepted one is intact",
      );

      db.pragma("max_page_count = 1073741823");
      const again = await app.inject({
        method: "POST",
        url: "/v1/collections/c/documents",
        payload: { documents: docs(5, 100, "late") },
      });
      assert.equal(again.statusCode, 202);
      await sluice.work({ exitWhenIdle: true });
      assert.equal((await sluice.stats("c")).documents, 25);
    } finally {
      await app.close();
      await sluice.close();
    }
  });

  it("over its limits the gate answers 429 (HTTP) or pauses the producer until the spool drains (CLI, sources)", async () => {
    const sluice = await open(temp(), { spool: { maxPending: 50 } });
    const app = await buildApp(sluice, { logger: false });
    try {
      assert.equal(
        (await app.inject({ method: "POST", url: "/v1/collections/c/documents", payload: { documents: docs(60) } }))
          .statusCode,
        202,
        "a request under the limit is taken whole",
      );
      const over = await app.inject({
        method: "POST",
        url: "/v1/collections/c/documents",
        payload: { documents: docs(1, 100, "x") },
      });
      assert.equal(over.statusCode, 429);
      assert.equal(over.headers["retry-after"], "5");
      assert.match(over.json<ErrorBody>().message, /60 documents waiting \(limit 50\)/);

      // A producer that pauses: 3,000 documents through a 50-document spool, drained as it goes.
      const many = docs(3000, 50, "p");
      let draining: Promise<Job> | null = null;
      const job = await sluice.submitDocuments(
        { collection: "c", documents: many },
        {
          onJob: (j) => {
            draining = sluice.runJob(j.id);
          },
        },
      );
      assert.equal(job.accepted.length, 3000);
      const finished = await draining!;
      assert.deepEqual([finished.state, finished.done], ["COMPLETED", 3000]);
      await sluice.work({ exitWhenIdle: true });
      assert.equal((await sluice.stats("c")).documents, 3060);
    } finally {
      await app.close();
      await sluice.close();
    }
  });

  it("a document that killed its worker each time it ran alone, or is past its deadline, goes to the dead-letter lane with the reason; retry and drop work", async () => {
    const dir = temp();
    const sluice = await open(dir, { spool: { maxAttempts: 2, leaseMs: 1000 } });
    try {
      const job = await sluice.submitDocuments({ collection: "c", documents: docs(2) });
      // A worker that died with d0 in flight among others (a suspect, not blamed), then two that
      // died running it alone (blamed each time): leases that expired unfinished.
      const [first] = await sluice.queue.lease("dead-host:0:x", 1, 1, { jobId: job.id });
      await new Promise((r) => setTimeout(r, 5));
      await sluice.queue.recover(() => true);
      for (let i = 1; i <= 2; i++) {
        const [alone] = await sluice.queue.lease(`dead-host:${i}:x`, 1, 1, { suspects: "only" });
        assert.equal(alone?.seq, first!.seq);
        await sluice.queue.isolate(`dead-host:${i}:x`, alone.seq);
        await new Promise((r) => setTimeout(r, 5));
        await sluice.queue.recover(() => true);
      }
      const finished = await sluice.runJob(job.id);
      assert.deepEqual([finished.state, finished.done, finished.failed], ["COMPLETED", 1, 1]);
      const [dead] = await sluice.deadLetters();
      assert.equal(dead?.docId, "d0");
      assert.match(
        dead.error,
        /^WORKER_CRASHED: upload:d0: the worker process died 2 time\(s\) while running this document alone/,
      );

      assert.equal(await sluice.retryDeadLetter(dead.seq), true);
      const again = await sluice.runJob(job.id);
      assert.deepEqual([again.state, again.done, again.failed], ["COMPLETED", 2, 0]);
      assert.equal((await sluice.spoolStats()).dead, 0);
    } finally {
      await sluice.close();
    }

    const late = await open(temp(), { spool: { documentDeadlineMs: 1 } });
    try {
      const job = await late.submitDocuments({ collection: "c", documents: docs(1) });
      await new Promise((r) => setTimeout(r, 10));
      const finished = await late.runJob(job.id);
      assert.equal(finished.state, "FAILED");
      const [letter] = await late.deadLetters();
      assert.match(letter!.error, /^DEADLINE_EXCEEDED/);
      assert.equal(await late.dropDeadLetter(letter!.seq), true);
      assert.equal((await late.spoolStats()).dead, 0);
    } finally {
      await late.close();
    }
  });

  it("serves spool metrics and the spool routes", async () => {
    const sluice = await open(temp());
    const app = await buildApp(sluice, { logger: false });
    try {
      await app.inject({
        method: "POST",
        url: "/v1/collections/c/documents",
        payload: { documents: docs(3), lane: "high" },
      });
      const stats = (await app.inject({ method: "GET", url: "/v1/spool" })).json<{ pending: Record<string, number> }>();
      assert.deepEqual(stats.pending, { high: 3, normal: 0, bulk: 0 });
      const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
      assert.match(metrics, /spool_pending_total\{lane="high"\} 3/);
      assert.match(metrics, /gate_envelopes_total\{outcome="accepted"\} 3/);
      assert.match(metrics, /spool_oldest_age_seconds \d/);
      await sluice.work({ exitWhenIdle: true });
      const after = (await app.inject({ method: "GET", url: "/metrics" })).body;
      assert.match(after, /spool_pending_total\{lane="high"\} 0/);
      assert.match(after, /stage_duration_seconds_count\{stage="index"\} 3/);
      assert.equal((await app.inject({ method: "POST", url: "/v1/spool/dlq/999/retry" })).statusCode, 404);
      assert.deepEqual((await app.inject({ method: "GET", url: "/v1/spool/dlq" })).json(), { deadLetters: [] });
    } finally {
      await app.close();
      await sluice.close();
    }
  });
});
