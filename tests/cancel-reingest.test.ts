import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import type { EmbedOptions } from "../src/models/ports.ts";
import { eventually } from "./helpers/eventually.ts";

/**
 * The hash embedder, slowed down (30 ms of simulated model work) so a job is still running when the
 * test cancels it.
 */
class SlowEmbedder extends HashEmbedder {
  calls = 0;
  /** Calls not finished yet. */
  active = 0;
  override async embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    this.calls++;
    this.active++;
    try {
      await sleep(30, undefined, options?.signal ? { signal: options.signal } : {});
    } finally {
      this.active--;
    }
    return super.embed(texts, options);
  }
}

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "sluice-cancel-"));
}

describe("cancel", () => {
  it("stops work between stages and documents, leaves nothing half-written, and resume finishes", async () => {
    const dir = tempDir();
    const docs = join(dir, "docs");
    mkdirSync(docs);
    for (let i = 0; i < 200; i++)
      writeFileSync(join(docs, `d${i}.txt`), `Document ${i}. ${"Some words about topic number " + i + ". ".repeat(3)}`);
    const embedder = new SlowEmbedder({ dimensions: 32 });
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      config: parseConfig({ ingest: { concurrency: 4 } }),
      embedder,
    });
    try {
      const job = await sluice.submitPaths({ collection: "c", paths: [docs] });
      const running = sluice.runJob(job.id);
      await eventually(async () => (await sluice.ledger.getJob(job.id)).done >= 20, "20 documents done", 30_000);
      // As `sluice cancel` does: the ledger, and the job's records in the spool.
      await sluice.cancelJob(job.id);
      const callsAtCancel = embedder.calls;
      const ended = await running;
      assert.equal(ended.state, "CANCELLED");
      // The run has returned; wait for any model call still in flight to end, then count.
      await eventually(() => embedder.active === 0, "embed calls in flight to end", 5_000);
      const callsAfterCancel = embedder.calls - callsAtCancel;
      assert.ok(callsAfterCancel <= 8, `work stopped: ${callsAfterCancel} embed calls after cancel`);
      assert.ok(ended.done < 200);

      // Every document in the index is whole: its chunk count matches, and it has its vectors.
      const info = await sluice.stats("c");
      const ledgerDone = (await sluice.ledger.getJob(job.id, { documents: true })).documents!.filter(
        (d) => d.state === "COMPLETED",
      ).length;
      assert.ok(info.documents >= ledgerDone && info.documents <= ledgerDone + 4);
      assert.equal(
        embedder.calls - callsAtCancel,
        callsAfterCancel,
        "no embed call started while the index was checked",
      );
      const hits = await sluice.store.searchDense("c", (await embedder.embed(["Document 3"]))[0]!, 500);
      assert.equal(hits.length, info.chunks, "every indexed chunk has its vector");

      const resumed = await sluice.resumeJob(job.id);
      assert.equal(resumed.state, "PENDING");
      const finished = await sluice.runJob(job.id);
      assert.deepEqual([finished.state, finished.done, finished.failed], ["COMPLETED", 200, 0]);
      assert.equal((await sluice.stats("c")).documents, 200);
    } finally {
      await sluice.close();
    }
  });
});

describe("re-ingest and delete", () => {
  it("skips unchanged documents, replaces changed ones, and delete removes a document from every index", async () => {
    const dir = tempDir();
    const docs = join(dir, "docs");
    mkdirSync(docs);
    writeFileSync(join(docs, "a.txt"), "Alpha talks about resuming failed jobs.");
    writeFileSync(join(docs, "b.txt"), "Bravo talks about cancelling running jobs.");
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      config: parseConfig({}),
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
    try {
      const outcomes = async () => {
        const job = await sluice.submitPaths({ collection: "c", paths: [docs], pipeline: "hybrid-sparse" });
        await sluice.runJob(job.id);
        const detail = await sluice.ledger.getJob(job.id, { documents: true });
        return Object.fromEntries(detail.documents!.map((d) => [d.docId, d.outcome]));
      };
      assert.deepEqual(await outcomes(), { "a.txt": "inserted", "b.txt": "inserted" });
      assert.deepEqual(await outcomes(), { "a.txt": "unchanged", "b.txt": "unchanged" });

      writeFileSync(join(docs, "a.txt"), "Alpha now talks about zebras instead.");
      assert.deepEqual(await outcomes(), { "a.txt": "replaced", "b.txt": "unchanged" });
      const stats = await sluice.stats("c");
      assert.deepEqual([stats.documents, stats.chunks], [2, 2]);
      assert.equal(
        (await sluice.query({ collection: "c", query: "resuming", mode: "lexical", answer: false })).results.length,
        0,
      );
      assert.equal(
        (await sluice.query({ collection: "c", query: "zebras", mode: "lexical", answer: false })).results[0]?.docId,
        "a.txt",
      );

      await sluice.deleteDocument("c", "b.txt");
      for (const mode of ["lexical", "dense", "sparse", "hybrid"] as const) {
        const r = await sluice.query({ collection: "c", query: "Bravo cancelling running jobs", mode, answer: false });
        assert.ok(!r.results.some((x) => x.docId === "b.txt"), `${mode} still finds the deleted document`);
      }
      await assert.rejects(sluice.deleteDocument("c", "b.txt"), { code: "DOCUMENT_NOT_FOUND" });

      // The default pipeline keeps no sparse index; asking for one says so.
      const plain = await sluice.submitPaths({ collection: "plain", paths: [docs] });
      await sluice.runJob(plain.id);
      await assert.rejects(
        sluice.query({ collection: "plain", query: "zebras", mode: "sparse" }),
        /has no sparse index; ingest it with --pipeline hybrid-sparse/,
      );
      assert.equal((await sluice.stats("c")).documents, 1);
    } finally {
      await sluice.close();
    }
  });
});
