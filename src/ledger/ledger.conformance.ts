import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { AdmittedDocument, DocumentRef } from "../contracts/index.ts";
import type { Ledger } from "./ledger.ts";

/** A ledger with the work queue that shares its database (documents reach a ledger only through it). */
export interface LedgerWithQueue {
  ledger: Ledger;
  queue: { admit(jobId: string, documents: AdmittedDocument[]): Promise<void> };
  open(): Promise<void>;
  close(): Promise<void>;
}

const docs = (n: number, prefix = "d"): AdmittedDocument[] =>
  Array.from({ length: n }, (_, i) => {
    const ref: DocumentRef = {
      id: `${prefix}${i}`,
      source: `${prefix}${i}.txt`,
      kind: "inline",
      text: `text ${i}`,
      meta: {},
    };
    return { ref, lane: "normal" as const, envelope: new TextEncoder().encode(`envelope ${prefix}${i}`) };
  });
const spec = { collection: "c", pipeline: "auto", paths: [] };

/**
 * The behaviour every Ledger adapter must show (documents reach it through the work queue that
 * shares its database). Run it from each adapter's test file; those live in `tests/`
 * (`sqlite-ledger.test.ts`, `postgres-ledger.test.ts`) because they need the work queue, a layer
 * above the ledger.
 *
 * @example
 * describeLedgerConformance("sqlite", async () => sqliteStores(join(dir, "ledger.db")));
 */
export function describeLedgerConformance(name: string, factory: () => Promise<LedgerWithQueue>): void {
  describe(`Ledger conformance: ${name}`, () => {
    let stores: LedgerWithQueue;
    before(async () => {
      stores = await factory();
      await stores.open();
    });
    after(async () => stores.close());

    const newJob = async (n: number, prefix = "d") => {
      const job = await stores.ledger.createJob(spec);
      await stores.queue.admit(job.id, docs(n, prefix));
      await stores.ledger.sealJob(job.id);
      return job.id;
    };

    it("an empty job is complete at once; a failed enumeration leaves the job FAILED; an orphan is INTERRUPTED", async () => {
      const { ledger, queue } = stores;
      const empty = await ledger.createJob(spec);
      assert.equal((await ledger.sealJob(empty.id)).state, "COMPLETED");
      const broken = await ledger.createJob(spec);
      const admitting = await ledger.admittingJobs();
      assert.ok(admitting >= 1, "a job being admitted is counted");
      await queue.admit(broken.id, docs(1));
      const sealed = await ledger.sealJob(broken.id, "PATH_NOT_FOUND: nope/ not found");
      assert.equal(sealed.state, "FAILED");
      assert.match(sealed.error ?? "", /not found/);
      assert.equal(await ledger.admittingJobs(), admitting - 1);

      const orphan = await ledger.createJob(spec, "gone-host:1:x");
      await queue.admit(orphan.id, docs(1, "o"));
      const ended = await ledger.finishIdleJobs((owner) => owner !== "gone-host:1:x");
      assert.ok(ended.some((j) => j.id === orphan.id && j.state === "FAILED"));
      assert.match((await ledger.getJob(orphan.id)).error ?? "", /^INTERRUPTED/);
    });

    it("lists a job's documents whole or a page at a time, in admission order", async () => {
      const id = await newJob(5, "pg");
      const ids = async (page: { limit?: number; offset?: number }) =>
        (await stores.ledger.getJob(id, { documents: true, ...page })).documents?.map((d) => d.docId);
      assert.deepEqual(await ids({}), ["pg0", "pg1", "pg2", "pg3", "pg4"]);
      assert.deepEqual(await ids({ limit: 2 }), ["pg0", "pg1"]);
      assert.deepEqual(await ids({ limit: 2, offset: 3 }), ["pg3", "pg4"]);
      assert.deepEqual(await ids({ offset: 4 }), ["pg4"]);
      assert.deepEqual(await ids({ limit: 0 }), []);
      assert.equal(
        (await stores.ledger.getJob(id, { documents: true, limit: 1 })).total,
        5,
        "counts cover every document",
      );
    });

    it("counts the documents still to come for a collection, in running jobs only", async () => {
      const { ledger } = stores;
      const job = await ledger.createJob({ ...spec, collection: "pending-c" });
      await stores.queue.admit(job.id, docs(3, "p"));
      await ledger.sealJob(job.id);
      assert.equal(await ledger.pendingDocuments("pending-c"), 3);
      assert.equal(await ledger.pendingDocuments("no-such-collection"), 0);
      await ledger.cancelJob(job.id);
      assert.equal(await ledger.pendingDocuments("pending-c"), 0, "a cancelled job's documents are not coming");
    });

    it("counts jobs by state, every state present, and reads several states at once", async () => {
      const { ledger } = stores;
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
      assert.deepEqual(
        [...(await ledger.jobStates([pending, cancelled, "job_nope"])).entries()].sort(),
        [
          [cancelled, "CANCELLED"],
          [pending, "PENDING"],
        ].sort(),
      );
      await assert.rejects(ledger.jobState("job_nope"), { code: "JOB_NOT_FOUND" });
    });

    it("cancels PENDING and PROCESSING jobs only; resume makes failed and cancelled documents PENDING again", async () => {
      const { ledger } = stores;
      const id = await newJob(2);
      const cancelled = await ledger.cancelJob(id);
      assert.deepEqual([cancelled.state, cancelled.cancelled], ["CANCELLED", 2]);
      await assert.rejects(ledger.cancelJob(id), { code: "JOB_STATE_CONFLICT" });
      const resumed = await ledger.resumeJob(id);
      assert.deepEqual([resumed.state, resumed.cancelled, resumed.total], ["PENDING", 0, 2]);
      await assert.rejects(ledger.getJob("job_nope"), { code: "JOB_NOT_FOUND" });
      const empty = await ledger.createJob(spec);
      await ledger.sealJob(empty.id);
      await assert.rejects(ledger.resumeJob(empty.id), { code: "JOB_STATE_CONFLICT" });
    });

    it("keeps checkpoints with typed arrays until the job is pruned", async () => {
      const { ledger } = stores;
      const id = await newJob(1);
      await ledger.saveCheckpoint(id, "d0", "embed", {
        vectors: { model: "m", dimensions: 2, vectors: [Float32Array.of(0.5, 0.25)] },
      });
      const back = (await ledger.loadCheckpoint(id, "d0", "embed")) as { vectors: { vectors: Float32Array[] } };
      assert.ok(back.vectors.vectors[0] instanceof Float32Array);
      assert.deepEqual([...back.vectors.vectors[0]], [0.5, 0.25]);
    });

    it("prunes ended jobs older than the cutoff with their records, and nothing else", async () => {
      const { ledger } = stores;
      const ended = await ledger.createJob(spec);
      await ledger.sealJob(ended.id);
      const running = await newJob(1, "keep");
      await ledger.saveCheckpoint(ended.id, "x", "parse", { a: 1 });
      assert.equal(await ledger.pruneJobs(Date.now() - 60_000), 0, "a job that ended just now is kept");
      assert.ok((await ledger.pruneJobs(Date.now() + 1_000)) >= 1);
      await assert.rejects(ledger.getJob(ended.id), { code: "JOB_NOT_FOUND" });
      assert.equal(await ledger.loadCheckpoint(ended.id, "x", "parse"), undefined);
      assert.equal((await ledger.getJob(running)).state, "PENDING", "a job still running is never pruned");
    });

    it("keeps a pipeline snapshot per version: insert-or-ignore, kept when jobs are pruned, survives reopening", async () => {
      const { ledger } = stores;
      const version = `conf@${Date.now().toString(16).padStart(12, "0").slice(-12)}`;
      assert.equal(await ledger.pipelineSnapshot(version), null, "never saved");
      const yaml = "version: 1\nname: conf\n# ünïcode and 'quotes' survive\n";
      await ledger.savePipelineSnapshot(version, yaml);
      assert.equal(await ledger.pipelineSnapshot(version), yaml);
      await ledger.savePipelineSnapshot(version, "something else");
      assert.equal(await ledger.pipelineSnapshot(version), yaml, "a version's text never changes");
      await ledger.savePipelineSnapshot(`${version}x`, "other");
      assert.equal(await ledger.pipelineSnapshot(`${version}x`), "other");

      const job = await ledger.createJob({ ...spec, pipelineVersion: version });
      assert.equal(job.pipelineVersion, version, "a job records the version it was created with");
      assert.equal((await ledger.getJob(job.id)).pipelineVersion, version);
      assert.equal((await ledger.listJobs()).find((j) => j.id === job.id)?.pipelineVersion, version);
      assert.equal((await ledger.createJob(spec)).pipelineVersion, undefined, "none given: none recorded");
      await ledger.sealJob(job.id);
      await ledger.pruneJobs(Date.now() + 1_000);
      await stores.close();
      await stores.open();
      assert.equal(await stores.ledger.pipelineSnapshot(version), yaml, "kept after pruning and reopening");
    });

    it("keeps where a source run stopped per (collection, source, queryKey); a save overwrites and survives reopening", async () => {
      const { ledger } = stores;
      assert.equal(await ledger.getSourceCursor("src-c", "openalex", "q1"), null, "never ran");

      const job = await ledger.createJob({ ...spec, collection: "src-c" });
      const before = Date.now();
      await ledger.saveSourceCursor("src-c", "openalex", "q1", { cursor: "page-2", watermark: null, jobId: job.id });
      const first = await ledger.getSourceCursor("src-c", "openalex", "q1");
      assert.ok(first);
      assert.deepEqual([first.cursor, first.watermark, first.jobId], ["page-2", null, job.id]);
      assert.equal(new Date(first.updatedAt).toISOString(), first.updatedAt, "updatedAt is ISO 8601");
      assert.ok(Date.parse(first.updatedAt) >= before - 5_000, "updatedAt is the time of the save");

      await ledger.saveSourceCursor("src-c", "openalex", "q1", {
        cursor: null,
        watermark: "2024-05-01T00:00:00Z",
        jobId: null,
      });
      const second = await ledger.getSourceCursor("src-c", "openalex", "q1");
      assert.deepEqual(
        [second?.cursor, second?.watermark, second?.jobId],
        [null, "2024-05-01T00:00:00Z", null],
        "a second save overwrites",
      );

      for (const [collection, source, queryKey] of [
        ["src-other", "openalex", "q1"],
        ["src-c", "pmc", "q1"],
        ["src-c", "openalex", "q2"],
      ] as const)
        assert.equal(
          await ledger.getSourceCursor(collection, source, queryKey),
          null,
          `${collection}/${source}/${queryKey}`,
        );
      await ledger.saveSourceCursor("src-c", "pmc", "q1", { cursor: "pmc-7", watermark: null, jobId: null });
      assert.equal((await ledger.getSourceCursor("src-c", "pmc", "q1"))?.cursor, "pmc-7");
      assert.equal((await ledger.getSourceCursor("src-c", "openalex", "q1"))?.watermark, "2024-05-01T00:00:00Z");

      await stores.close();
      await stores.open();
      const reopened = await stores.ledger.getSourceCursor("src-c", "openalex", "q1");
      assert.deepEqual([reopened?.cursor, reopened?.watermark], [null, "2024-05-01T00:00:00Z"], "survives reopening");
      assert.equal((await stores.ledger.getSourceCursor("src-c", "pmc", "q1"))?.cursor, "pmc-7");
    });
  });
}
