import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DocumentRef } from "../contracts/index.ts";
import type { SpoolRecord } from "../spool/spool.ts";
import type { AdmittedDocument, DocumentUpdate, Ledger } from "./ledger.ts";

const docs = (n: number, prefix = "d"): AdmittedDocument[] =>
  Array.from({ length: n }, (_, i) => {
    const ref: DocumentRef = { id: `${prefix}${i}`, source: `${prefix}${i}.txt`, kind: "inline", text: `text ${i}`, meta: {} };
    return { ref, lane: "normal" as const, envelope: new TextEncoder().encode(`envelope ${prefix}${i}`) };
  });
const spec = { collection: "c", pipeline: "auto", paths: [] };
const done = (r: SpoolRecord): DocumentUpdate => ({ seq: r.seq, docId: r.docId, state: "COMPLETED", outcome: "inserted", stages: [{ stage: "index", state: "COMPLETED", attempts: 1, startedAt: null, finishedAt: null, error: null }] });
const failed = (r: SpoolRecord): DocumentUpdate => ({ seq: r.seq, docId: r.docId, state: "FAILED", error: { code: "PDF_CORRUPT", message: `${r.docId}: corrupt` }, stages: [] });

/**
 * The behaviour every Ledger adapter (with its spool) must show. Run it from each adapter's test file.
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

    const newJob = async (n: number, prefix = "d") => {
      const job = await ledger.createJob(spec);
      await ledger.admit(job.id, docs(n, prefix));
      await ledger.sealJob(job.id);
      return job.id;
    };

    it("admits documents to the job and the spool; leasing marks them PROCESSING", async () => {
      const id = await newJob(3);
      let job = await ledger.getJob(id);
      assert.deepEqual([job.state, job.total, job.done], ["PENDING", 3, 0]);
      const leased = await ledger.lease("w", 2, 60_000, { jobId: id });
      assert.deepEqual(leased.map((r) => r.docId), ["d0", "d1"]);
      assert.equal(new TextDecoder().decode(leased[0]!.envelope), "envelope d0");
      job = await ledger.getJob(id, { documents: true });
      assert.equal(job.state, "PROCESSING");
      assert.deepEqual(job.documents!.map((d) => d.state), ["PROCESSING", "PROCESSING", "PENDING"]);
    });

    it("an empty job is complete at once; a failed enumeration leaves the job FAILED", async () => {
      const empty = await ledger.createJob(spec);
      assert.equal((await ledger.sealJob(empty.id)).state, "COMPLETED");
      const broken = await ledger.createJob(spec);
      const admitting = await ledger.admittingJobs();
      assert.ok(admitting >= 1, "a job being admitted is counted");
      await ledger.admit(broken.id, docs(1));
      const sealed = await ledger.sealJob(broken.id, "PATH_NOT_FOUND: nope/ not found");
      assert.equal(sealed.state, "FAILED");
      assert.match(sealed.error ?? "", /not found/);
      assert.equal(await ledger.admittingJobs(), admitting - 1);

      const orphan = await ledger.createJob(spec, "gone-host:1:x");
      await ledger.admit(orphan.id, docs(1, "o"));
      assert.ok((await ledger.finishIdleJobs((owner) => owner !== "gone-host:1:x")) >= 1);
      const ended = await ledger.getJob(orphan.id);
      assert.equal(ended.state, "FAILED");
      assert.match(ended.error ?? "", /^INTERRUPTED/);
    });

    it("counts jobs by state, every state present", async () => {
      const before = await ledger.countJobsByState();
      assert.deepEqual(Object.keys(before).sort(), ["CANCELLED", "COMPLETED", "FAILED", "PENDING", "PROCESSING"]);
      const pending = await newJob(1, "count");
      const empty = await ledger.createJob(spec);
      await ledger.sealJob(empty.id);
      const cancelled = await newJob(1, "count-c");
      await ledger.cancelJob(cancelled);
      const after = await ledger.countJobsByState();
      assert.equal(after.PENDING - before.PENDING, 1);
      assert.equal(after.COMPLETED - before.COMPLETED, 1);
      assert.equal(after.CANCELLED - before.CANCELLED, 1);
      assert.equal(await ledger.jobState(pending), "PENDING");
    });

    it("a repeated document id keeps its last version", async () => {
      const job = await ledger.createJob(spec);
      await ledger.admit(job.id, [...docs(2), { ...docs(1)[0]!, envelope: new TextEncoder().encode("newer") }]);
      await ledger.sealJob(job.id);
      assert.equal((await ledger.getJob(job.id)).total, 2);
      const leased = await ledger.lease("w", 10, 60_000, { jobId: job.id });
      assert.deepEqual(leased.map((r) => new TextDecoder().decode(r.envelope)).sort(), ["envelope d1", "newer"]);
    });

    it("records outcomes with their tombstones and finishes COMPLETED, or FAILED when every document failed", async () => {
      const a = await newJob(3);
      const [r0, r1, r2] = await ledger.lease("w", 3, 60_000, { jobId: a });
      await ledger.recordDocuments(a, [done(r0!), failed(r1!)]);
      assert.equal(await ledger.finishIfDone(a), null, "a job with a live record is not done");
      await ledger.recordDocuments(a, [done(r2!)]);
      const finished = (await ledger.finishIfDone(a))!;
      assert.deepEqual([finished.state, finished.done, finished.failed], ["COMPLETED", 2, 1]);
      const detail = await ledger.getJob(a, { documents: true, stages: true });
      assert.deepEqual(detail.documents!.find((d) => d.docId === "d1")!.error, { code: "PDF_CORRUPT", message: "d1: corrupt" });
      assert.equal(detail.documents!.find((d) => d.docId === "d0")!.stages![0]!.stage, "index");
      assert.ok(ledger.spool().deadLetters().some((d) => d.jobId === a && d.docId === "d1" && d.error === "PDF_CORRUPT: d1: corrupt"));

      const b = await newJob(2);
      const leased = await ledger.lease("w", 2, 60_000, { jobId: b });
      await ledger.recordDocuments(b, leased.map(failed));
      assert.equal((await ledger.finishIfDone(b))!.state, "FAILED");
    });

    it("a released record runs again; a dead owner's lease is recovered at once", async () => {
      const id = await newJob(2);
      const [first] = await ledger.lease("w1", 1, 600_000, { jobId: id });
      await ledger.release(first!.seq, "MODEL_UNAVAILABLE: down", 0);
      const again = await ledger.lease("w2", 1, 600_000, { jobId: id });
      assert.deepEqual([again[0]!.docId, again[0]!.attempts], ["d0", 2]);
      await ledger.lease("dead-worker", 1, 600_000, { jobId: id });
      assert.equal((await ledger.lease("w2", 5, 600_000, { jobId: id })).length, 0);
      assert.equal(await ledger.recover((owner) => owner !== "dead-worker"), 1);
      assert.deepEqual((await ledger.lease("w2", 5, 600_000, { jobId: id })).map((r) => r.docId), ["d1"]);
    });

    it("cancels PENDING and PROCESSING jobs only; resume re-runs only what did not complete", async () => {
      const id = await newJob(3);
      const [r0, r1] = await ledger.lease("w", 2, 60_000, { jobId: id });
      await ledger.recordDocuments(id, [done(r0!), failed(r1!)]);
      const cancelled = await ledger.cancelJob(id);
      assert.deepEqual([cancelled.state, cancelled.done, cancelled.failed, cancelled.cancelled], ["CANCELLED", 1, 1, 1]);
      assert.equal(await ledger.jobState(id), "CANCELLED");
      assert.deepEqual(await ledger.lease("w", 10, 60_000, { jobId: id }), [], "a cancelled job's records are not leased");
      await assert.rejects(ledger.cancelJob(id), { code: "JOB_STATE_CONFLICT" });

      const resumed = await ledger.resumeJob(id);
      assert.deepEqual([resumed.state, resumed.done, resumed.failed, resumed.cancelled], ["PENDING", 1, 0, 0]);
      assert.deepEqual((await ledger.lease("w", 10, 60_000, { jobId: id })).map((r) => r.docId), ["d1", "d2"]);
      await assert.rejects(ledger.getJob("job_nope"), { code: "JOB_NOT_FOUND" });

      const clean = await newJob(1);
      const [only] = await ledger.lease("w", 1, 60_000, { jobId: clean });
      await ledger.recordDocuments(clean, [done(only!)]);
      await ledger.finishIfDone(clean);
      await assert.rejects(ledger.resumeJob(clean), { code: "JOB_STATE_CONFLICT" });
    });

    it("retrying a dead letter puts its document and job back to work", async () => {
      const id = await newJob(1);
      const [r] = await ledger.lease("w", 1, 60_000, { jobId: id });
      await ledger.recordDocuments(id, [failed(r!)]);
      assert.equal((await ledger.finishIfDone(id))!.state, "FAILED");
      assert.equal(await ledger.retryDeadLetter(r!.seq), true);
      assert.equal((await ledger.getJob(id)).state, "PENDING");
      assert.equal((await ledger.lease("w", 1, 60_000, { jobId: id }))[0]?.docId, "d0");
    });

    it("keeps checkpoints with typed arrays until the document completes", async () => {
      const id = await newJob(1);
      await ledger.saveCheckpoint(id, "d0", "embed", { vectors: { model: "m", dimensions: 2, vectors: [Float32Array.of(0.5, 0.25)] } });
      const back = (await ledger.loadCheckpoint(id, "d0", "embed")) as { vectors: { vectors: Float32Array[] } };
      assert.ok(back.vectors.vectors[0] instanceof Float32Array);
      assert.deepEqual([...back.vectors.vectors[0]], [0.5, 0.25]);
      const [r] = await ledger.lease("w", 1, 60_000, { jobId: id });
      await ledger.recordDocuments(id, [done(r!)]);
      assert.equal(await ledger.loadCheckpoint(id, "d0", "embed"), undefined);
    });
  });
}
