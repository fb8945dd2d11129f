import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, it } from "node:test";
import type { JobEvent } from "../contracts/job-event.ts";
import type { StageRecord } from "../contracts/index.ts";
import { OutcomeWriter, type OutcomeWriterOptions } from "./outcome-writer.ts";
import { sqliteStores } from "./sqlite/sqlite-stores.ts";
import type { AdmittedDocument, DocumentOutcome, Lease } from "./work-queue.ts";

const OWNER = "host:1:writer";
const spec = { collection: "c", pipeline: "auto", paths: [] };

const doc = (id: string): AdmittedDocument => ({
  ref: { id, source: `${id}.txt`, kind: "inline", text: "t", meta: {} },
  lane: "normal",
  envelope: new TextEncoder().encode("x"),
});

const stage = (
  name: string,
  second: number,
  state: StageRecord["state"] = "COMPLETED",
  error: string | null = null,
): StageRecord => ({
  stage: name,
  state,
  attempts: 1,
  startedAt: `2026-01-01T00:00:0${second}.000Z`,
  finishedAt: `2026-01-01T00:00:0${second}.500Z`,
  error,
});
const STAGES = [stage("parse", 1), stage("embed", 2)];

const indexed = (l: Lease): DocumentOutcome => ({
  seq: l.seq,
  jobId: l.jobId,
  docId: l.docId,
  outcome: "inserted",
  stages: STAGES,
});
const failed = (l: Lease, code = "PARSE_FAILED", message = "not a pdf"): DocumentOutcome => ({
  seq: l.seq,
  jobId: l.jobId,
  docId: l.docId,
  outcome: null,
  error: { code, message },
  stages: [stage("parse", 1, "FAILED", `${code}: ${message}`)],
});

describe("OutcomeWriter", () => {
  let stores: ReturnType<typeof sqliteStores>;
  let events: JobEvent[];

  beforeEach(async () => {
    stores = sqliteStores(join(mkdtempSync(join(tmpdir(), "sluice-writer-")), "ledger.db"));
    await stores.open();
    events = [];
  });
  afterEach(async () => stores.close());

  /** A sealed job with `ids` admitted and leased by OWNER, in admission order. */
  async function leasedJob(ids: string[]): Promise<{ jobId: string; leases: Lease[] }> {
    const job = await stores.ledger.createJob(spec);
    await stores.queue.admit(job.id, ids.map(doc));
    await stores.ledger.sealJob(job.id);
    const leases = await stores.queue.lease(OWNER, ids.length, 60_000, { jobId: job.id });
    assert.equal(leases.length, ids.length);
    return { jobId: job.id, leases: leases.sort((a, b) => a.seq - b.seq) };
  }

  const writerWith = (options: Partial<OutcomeWriterOptions> = {}): OutcomeWriter =>
    new OutcomeWriter({ queue: stores.queue, ledger: stores.ledger, onJobEvent: (e) => events.push(e), ...options });

  it("buffers outcomes and writes them, with their stage records, on flush", async () => {
    const { jobId, leases } = await leasedJob(["a", "b"]);
    const writer = writerWith();
    await writer.complete(indexed(leases[0]!));
    await writer.complete(indexed(leases[1]!));
    assert.equal(writer.pending, 2);
    assert.equal((await stores.ledger.getJob(jobId)).done, 0, "nothing written before the flush");

    await writer.flush();

    assert.equal(writer.pending, 0);
    const job = await stores.ledger.getJob(jobId, { documents: true, stages: true });
    assert.deepEqual([job.state, job.done, job.failed, job.total], ["COMPLETED", 2, 0, 2]);
    assert.deepEqual(
      job.documents?.map((d) => ({
        docId: d.docId,
        state: d.state,
        outcome: d.outcome,
        attempts: d.attempts,
        currentStage: d.currentStage,
        stages: d.stages,
      })),
      ["a", "b"].map((docId) => ({
        docId,
        state: "COMPLETED",
        outcome: "inserted",
        attempts: 1,
        currentStage: "embed",
        stages: STAGES,
      })),
    );
    assert.equal((await stores.queue.stats()).tombstoned, 2);
  });

  it("writes a full batch by itself", async () => {
    const { jobId, leases } = await leasedJob(["a", "b", "c"]);
    const writer = writerWith({ batch: 2 });
    await writer.complete(indexed(leases[0]!));
    assert.equal((await stores.ledger.getJob(jobId)).done, 0);
    await writer.deadLetter(failed(leases[1]!));
    assert.equal(writer.pending, 0, "the second outcome filled the batch");
    const job = await stores.ledger.getJob(jobId);
    assert.deepEqual([job.done, job.failed], [1, 1]);

    await writer.complete(indexed(leases[2]!));
    assert.equal(writer.pending, 1);
    assert.equal((await stores.ledger.getJob(jobId)).state, "PROCESSING");
  });

  it('moves a dead letter to the dead-letter lane as "CODE: message"', async () => {
    const { jobId, leases } = await leasedJob(["a", "b"]);
    const writer = writerWith();
    await writer.deadLetter(failed(leases[0]!, "PARSE_FAILED", "not a pdf"));
    await writer.complete(indexed(leases[1]!));
    await writer.flush();

    const dead = await stores.queue.deadLetters();
    assert.deepEqual(
      dead.map((d) => ({ seq: d.seq, jobId: d.jobId, docId: d.docId, error: d.error })),
      [{ seq: leases[0]!.seq, jobId, docId: "a", error: "PARSE_FAILED: not a pdf" }],
    );
    const job = await stores.ledger.getJob(jobId, { documents: true, stages: true });
    const a = job.documents?.find((d) => d.docId === "a");
    assert.deepEqual(
      [a?.state, a?.error, a?.stages?.map((s) => [s.stage, s.state, s.error])],
      ["FAILED", { code: "PARSE_FAILED", message: "not a pdf" }, [["parse", "FAILED", "PARSE_FAILED: not a pdf"]]],
    );
  });

  it("finishes a job when its last outcome is written and reports job.completed exactly once", async () => {
    const { jobId, leases } = await leasedJob(["a", "b"]);
    const writer = writerWith();
    writer.started({ jobId, collection: "c", pipeline: "auto", pipelineVersion: "auto@abc123" });
    await writer.complete(indexed(leases[0]!));
    await writer.flush();
    assert.deepEqual(
      events.map((e) => e.type),
      ["job.started"],
    );
    assert.equal((await stores.ledger.getJob(jobId)).state, "PROCESSING", "one document left");

    await writer.deadLetter(failed(leases[1]!));
    await writer.flush();
    await writer.flush();
    await writer.finishIdle(() => true);

    const ends = events.filter((e) => e.type !== "job.started");
    assert.equal(ends.length, 1);
    assert.deepEqual(
      {
        type: ends[0]!.type,
        jobId: ends[0]!.jobId,
        state: ends[0]!.state,
        done: ends[0]!.done,
        failed: ends[0]!.failed,
        total: ends[0]!.total,
        pipelineVersion: ends[0]!.pipelineVersion,
      },
      {
        type: "job.completed",
        jobId,
        state: "COMPLETED",
        done: 1,
        failed: 1,
        total: 2,
        pipelineVersion: "auto@abc123",
      },
    );
    assert.equal((await stores.ledger.getJob(jobId)).state, "COMPLETED");
  });

  it("reports job.failed when every document of the job failed", async () => {
    const { jobId, leases } = await leasedJob(["a", "b"]);
    const writer = writerWith();
    for (const l of leases) await writer.deadLetter(failed(l));
    await writer.flush();

    assert.deepEqual(
      events.map((e) => [e.type, e.jobId, e.state, e.failed, e.error]),
      [["job.failed", jobId, "FAILED", 2, "every document failed"]],
    );
  });

  it("reports job.started once per job, however many of its documents it runs", () => {
    const writer = writerWith();
    for (let i = 0; i < 3; i++)
      writer.started({ jobId: "job_a", collection: "c", pipeline: "auto", pipelineVersion: "auto@1" });
    writer.started({ jobId: "job_b", collection: "d", pipeline: "custom", pipelineVersion: "custom@2" });
    writer.started({ jobId: "job_a", collection: "c", pipeline: "auto", pipelineVersion: "auto@1" });

    assert.deepEqual(
      events.map(({ type, jobId, collection, pipeline, pipelineVersion }) => ({
        type,
        jobId,
        collection,
        pipeline,
        pipelineVersion,
      })),
      [
        { type: "job.started", jobId: "job_a", collection: "c", pipeline: "auto", pipelineVersion: "auto@1" },
        { type: "job.started", jobId: "job_b", collection: "d", pipeline: "custom", pipelineVersion: "custom@2" },
      ],
    );
  });

  it("finishIdle reports the end of a job whose admitting process is gone as job.failed", async () => {
    const orphan = await stores.ledger.createJob(spec, "gone:1:x");
    await stores.queue.admit(orphan.id, [doc("a")]);
    const admitting = await stores.ledger.createJob(spec, "alive:1:y");
    await stores.queue.admit(admitting.id, [doc("b")]);
    const writer = writerWith();

    await writer.finishIdle((owner) => owner !== "gone:1:x");

    assert.deepEqual(
      events.map((e) => [e.type, e.jobId, e.state]),
      [["job.failed", orphan.id, "FAILED"]],
    );
    assert.match(events[0]!.error ?? "", /^INTERRUPTED/);
    assert.equal(
      (await stores.ledger.getJob(admitting.id)).state,
      "PENDING",
      "a job still being admitted is left alone",
    );
    await writer.finishIdle((owner) => owner !== "gone:1:x");
    assert.equal(events.length, 1, "an ended job is not reported again");
  });

  it("keeps the outcomes of a write that throws, and the next flush writes them once", async (t) => {
    const { jobId, leases } = await leasedJob(["a", "b", "c"]);
    const complete = t.mock.method(stores.queue, "complete");
    complete.mock.mockImplementationOnce(async () => {
      throw new Error("disk I/O error");
    });
    const writer = writerWith();
    await writer.complete(indexed(leases[0]!));
    await writer.deadLetter(failed(leases[1]!));

    await assert.rejects(writer.flush(), /disk I\/O error/);
    assert.equal(writer.pending, 2, "both kept");
    let job = await stores.ledger.getJob(jobId);
    assert.deepEqual([job.done, job.failed], [0, 0], "nothing written");
    assert.equal((await stores.queue.deadLetters()).length, 0);

    await writer.complete(indexed(leases[2]!));
    await writer.flush();

    assert.equal(writer.pending, 0);
    job = await stores.ledger.getJob(jobId, { documents: true });
    assert.deepEqual([job.state, job.done, job.failed], ["COMPLETED", 2, 1]);
    assert.deepEqual(
      job.documents?.map((d) => [d.docId, d.state, d.attempts]),
      [
        ["a", "COMPLETED", 1],
        ["b", "FAILED", 1],
        ["c", "COMPLETED", 1],
      ],
    );
    assert.deepEqual(
      (await stores.queue.deadLetters()).map((d) => d.docId),
      ["b"],
    );
    assert.deepEqual(
      complete.mock.calls.map((c) => c.arguments[0].map((o) => o.docId)),
      [["a"], ["a", "c"]],
      "the failed batch is retried ahead of what came after it",
    );
    assert.deepEqual(
      events.map((e) => e.type),
      ["job.completed"],
    );
  });

  it("a failed flush does not stop the next one queued behind it", async (t) => {
    const { jobId, leases } = await leasedJob(["a", "b"]);
    const complete = t.mock.method(stores.queue, "complete");
    complete.mock.mockImplementationOnce(async () => {
      throw new Error("disk I/O error");
    });
    const writer = writerWith();
    await writer.complete(indexed(leases[0]!));
    const first = writer.flush();
    await writer.complete(indexed(leases[1]!));
    const second = writer.flush();
    await assert.rejects(first, /disk I\/O error/);
    await second;
    // The second flush took only "b"; "a" went back to the buffer for the flush after it.
    assert.equal((await stores.ledger.getJob(jobId)).done, 1);
    assert.equal(writer.pending, 1);
    await writer.flush();
    assert.deepEqual([(await stores.ledger.getJob(jobId)).done, writer.pending], [2, 0]);
  });

  describe("when the store fails or is slow", () => {
    it("does not write the completions twice when the dead-letter write of the same flush throws", async (t) => {
      const { jobId, leases } = await leasedJob(["a", "b"]);
      const deadLetter = t.mock.method(stores.queue, "deadLetter");
      deadLetter.mock.mockImplementationOnce(async () => {
        throw new Error("disk I/O error");
      });
      const writer = writerWith();
      await writer.complete(indexed(leases[0]!));
      await writer.deadLetter(failed(leases[1]!));
      await assert.rejects(writer.flush(), /disk I\/O error/);
      await writer.flush();
      const job = await stores.ledger.getJob(jobId, { documents: true });
      assert.deepEqual(
        job.documents?.map((d) => [d.docId, d.attempts]),
        [
          ["a", 1],
          ["b", 1],
        ],
      );
    });
  });
});
