import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { SluiceError } from "../contracts/errors.ts";
import type { DocumentRef } from "../contracts/index.ts";
import type { DocumentUpdate, Ledger } from "./ledger.ts";

const refs = (n: number, prefix = "d"): DocumentRef[] =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}${i}`, source: `${prefix}${i}.txt`, kind: "inline", text: `text ${i}`, meta: {} }));
const spec = { collection: "c", pipeline: "auto", paths: [] };
const done = (docId: string): DocumentUpdate => ({ docId, state: "COMPLETED", outcome: "inserted", stages: [{ stage: "index", state: "COMPLETED", attempts: 1, startedAt: null, finishedAt: null, error: null }] });
const failed = (docId: string): DocumentUpdate => ({ docId, state: "FAILED", error: { code: "PDF_CORRUPT", message: `${docId}: corrupt` }, stages: [] });

/**
 * The behaviour every Ledger adapter must show. Run it from each adapter's test file.
 *
 * @example
 * describeLedgerConformance("sqlite", async () => new SqliteLedger(join(dir, "ledger.db")));
 */
export function describeLedgerConformance(name: string, factory: () => Promise<Ledger>): void {
  describe(`Ledger conformance: ${name}`, () => {
    let ledger: Ledger;
    before(async () => {
      ledger = await factory();
      await ledger.open();
    });
    after(async () => ledger.close());

    it("records a job with its documents, PENDING until claimed", async () => {
      const job = await ledger.createJob(spec, refs(3));
      assert.equal(job.state, "PENDING");
      assert.deepEqual([job.total, job.done, job.failed], [3, 0, 0]);
      const pending = await ledger.pendingDocuments(job.id, -1, 10);
      assert.deepEqual(pending.map((p) => p.docId), ["d0", "d1", "d2"]);
      assert.equal(pending[1]!.ref.text, "text 1");
    });

    it("an empty job is complete at once; a failing enumeration marks the job FAILED", async () => {
      assert.equal((await ledger.createJob(spec, [])).state, "COMPLETED");
      async function* broken() {
        yield refs(1)[0]!;
        throw new SluiceError("PATH_NOT_FOUND", "nope/: not found");
      }
      await assert.rejects(ledger.createJob(spec, broken()), { code: "PATH_NOT_FOUND" });
      const last = (await ledger.listJobs()).at(-1)!;
      assert.equal(last.state, "FAILED");
      assert.match(last.error ?? "", /not found/);
    });

    it("a repeated document id keeps its last version", async () => {
      const job = await ledger.createJob(spec, [...refs(2), { ...refs(1)[0]!, text: "newer" }]);
      assert.equal(job.total, 2);
      assert.equal((await ledger.pendingDocuments(job.id, -1, 10)).find((p) => p.docId === "d0")!.ref.text, "newer");
    });

    it("lets one worker claim a job; an expired lease lets another take over", async () => {
      const job = await ledger.createJob(spec, refs(1));
      let claimed = await ledger.claimJob("w1", 60_000, job.id);
      assert.equal(claimed?.state, "PROCESSING");
      assert.equal(await ledger.claimJob("w2", 60_000, job.id), null);
      await assert.rejects(ledger.resumeJob(job.id), { code: "JOB_STATE_CONFLICT" });
      assert.equal(await ledger.renewLease(job.id, "w1", 1), true);
      await sleep(10);
      claimed = await ledger.claimJob("w2", 60_000, job.id);
      assert.equal(claimed?.id, job.id);
      assert.equal(await ledger.renewLease(job.id, "w1", 60_000), false, "the old owner lost its lease");
    });

    it("records outcomes and finishes COMPLETED, or FAILED when every document failed", async () => {
      const a = await ledger.createJob(spec, refs(3));
      await ledger.claimJob("w", 60_000, a.id);
      await ledger.recordDocuments(a.id, [done("d0"), failed("d1"), done("d2")]);
      const finished = await ledger.finishJob(a.id, "w");
      assert.deepEqual([finished.state, finished.done, finished.failed], ["COMPLETED", 2, 1]);
      const detail = await ledger.getJob(a.id, { documents: true, stages: true });
      assert.deepEqual(detail.documents!.find((d) => d.docId === "d1")!.error, { code: "PDF_CORRUPT", message: "d1: corrupt" });
      assert.equal(detail.documents!.find((d) => d.docId === "d0")!.stages![0]!.stage, "index");

      const b = await ledger.createJob(spec, refs(2));
      await ledger.claimJob("w", 60_000, b.id);
      await ledger.recordDocuments(b.id, [failed("d0"), failed("d1")]);
      assert.equal((await ledger.finishJob(b.id, "w")).state, "FAILED");
    });

    it("a run that stops early leaves the job PENDING with its remaining documents", async () => {
      const job = await ledger.createJob(spec, refs(3));
      await ledger.claimJob("w", 60_000, job.id);
      await ledger.recordDocuments(job.id, [done("d0")]);
      assert.equal((await ledger.finishJob(job.id, "w")).state, "PENDING");
      assert.deepEqual((await ledger.pendingDocuments(job.id, -1, 10)).map((p) => p.docId), ["d1", "d2"]);
    });

    it("cancels PENDING and PROCESSING jobs only", async () => {
      const job = await ledger.createJob(spec, refs(2));
      await ledger.claimJob("w", 60_000, job.id);
      await ledger.recordDocuments(job.id, [done("d0")]);
      const cancelled = await ledger.cancelJob(job.id);
      assert.deepEqual([cancelled.state, cancelled.done, cancelled.cancelled], ["CANCELLED", 1, 1]);
      assert.equal(await ledger.jobState(job.id), "CANCELLED");
      await assert.rejects(ledger.cancelJob(job.id), { code: "JOB_STATE_CONFLICT" });
      await assert.rejects(ledger.getJob("job_nope"), { code: "JOB_NOT_FOUND" });
    });

    it("resume re-runs only what did not complete", async () => {
      const job = await ledger.createJob(spec, refs(3));
      await ledger.claimJob("w", 60_000, job.id);
      await ledger.recordDocuments(job.id, [done("d0"), failed("d1")]);
      await ledger.cancelJob(job.id);
      const resumed = await ledger.resumeJob(job.id);
      assert.deepEqual([resumed.state, resumed.done, resumed.failed, resumed.cancelled], ["PENDING", 1, 0, 0]);
      assert.deepEqual((await ledger.pendingDocuments(job.id, -1, 10)).map((p) => p.docId), ["d1", "d2"]);

      const clean = await ledger.createJob(spec, refs(1));
      await ledger.claimJob("w", 60_000, clean.id);
      await ledger.recordDocuments(clean.id, [done("d0")]);
      await ledger.finishJob(clean.id, "w");
      await assert.rejects(ledger.resumeJob(clean.id), { code: "JOB_STATE_CONFLICT" });
    });

    it("keeps checkpoints with typed arrays until the document completes", async () => {
      const job = await ledger.createJob(spec, refs(1));
      await ledger.saveCheckpoint(job.id, "d0", "embed", { vectors: { model: "m", dimensions: 2, vectors: [Float32Array.of(0.5, 0.25)] } });
      const back = (await ledger.loadCheckpoint(job.id, "d0", "embed")) as { vectors: { vectors: Float32Array[] } };
      assert.ok(back.vectors.vectors[0] instanceof Float32Array);
      assert.deepEqual([...back.vectors.vectors[0]], [0.5, 0.25]);
      await ledger.recordDocuments(job.id, [done("d0")]);
      assert.equal(await ledger.loadCheckpoint(job.id, "d0", "embed"), undefined);
    });
  });
}
