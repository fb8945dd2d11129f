import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DocumentRef } from "../contracts/index.ts";
import type { JobStores } from "./stores.ts";
import type { AdmittedDocument, DocumentOutcome, Lane, Lease } from "./work-queue.ts";

const docs = (n: number, prefix = "d", lane: Lane = "normal"): AdmittedDocument[] =>
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
const spec = { collection: "c", pipeline: "auto", paths: [] };
const done = (r: Lease): DocumentOutcome => ({
  seq: r.seq,
  jobId: r.jobId,
  docId: r.docId,
  outcome: "inserted",
  stages: [{ stage: "index", state: "COMPLETED", attempts: 1, startedAt: null, finishedAt: null, error: null }],
});
const failed = (r: Lease): DocumentOutcome => ({
  seq: r.seq,
  jobId: r.jobId,
  docId: r.docId,
  error: { code: "PDF_CORRUPT", message: `${r.docId}: corrupt` },
  stages: [],
});
const text = (r: Lease) => new TextDecoder().decode(r.envelope);

/**
 * The behaviour every WorkQueue adapter must show, with the ledger it shares a database with.
 * Each test makes its own job, so adapters on a shared server need only a fresh key prefix or
 * schema per run. Run it from each adapter's test file.
 *
 * @example
 * describeWorkQueueConformance("sqlite", async () => sqliteStores(join(dir, "ledger.db")));
 */
export function describeWorkQueueConformance(name: string, factory: () => Promise<JobStores>): void {
  describe(`WorkQueue conformance: ${name}`, () => {
    let stores: JobStores;
    before(async () => {
      stores = await factory();
      await stores.open();
    });
    after(async () => stores.close());

    const newJob = async (documents: AdmittedDocument[]) => {
      const job = await stores.ledger.createJob(spec);
      await stores.queue.admit(job.id, documents);
      await stores.ledger.sealJob(job.id);
      return job.id;
    };
    const lease = (
      owner: string,
      max: number,
      jobId: string,
      extra: { leaseMs?: number; suspects?: "only" | "exclude"; now?: number } = {},
    ) =>
      stores.queue.lease(owner, max, extra.leaseMs ?? 60_000, {
        jobId,
        ...(extra.suspects ? { suspects: extra.suspects } : {}),
        ...(extra.now !== undefined ? { now: extra.now } : {}),
      });

    it("admits durably and leases in order, each record to one owner; leasing marks documents and the job PROCESSING", async () => {
      const id = await newJob(docs(3));
      assert.deepEqual(
        [(await stores.ledger.getJob(id)).state, (await stores.ledger.getJob(id)).total],
        ["PENDING", 3],
      );
      const first = await lease("w1", 2, id);
      assert.deepEqual(
        first.map((r) => [r.docId, r.attempts, r.suspect, r.crashes]),
        [
          ["d0", 1, false, 0],
          ["d1", 1, false, 0],
        ],
      );
      assert.equal(text(first[0]!), "envelope d0");
      assert.deepEqual(
        (await lease("w2", 10, id)).map((r) => r.docId),
        ["d2"],
      );
      assert.deepEqual(await lease("w2", 10, id), [], "leased records are not handed out twice");
      const job = await stores.ledger.getJob(id, { documents: true });
      assert.equal(job.state, "PROCESSING");
      assert.deepEqual(
        job.documents!.map((d) => d.state),
        ["PROCESSING", "PROCESSING", "PROCESSING"],
      );
      assert.equal(await stores.queue.liveCount(id), 3);
    });

    it("a repeated document id within one job keeps its last version", async () => {
      const job = await stores.ledger.createJob(spec);
      await stores.queue.admit(job.id, [...docs(2), { ...docs(1)[0]!, envelope: new TextEncoder().encode("newer") }]);
      await stores.ledger.sealJob(job.id);
      assert.equal((await stores.ledger.getJob(job.id)).total, 2);
      assert.deepEqual((await lease("w", 10, job.id)).map(text).sort(), ["envelope d1", "newer"]);
    });

    it("complete records the outcome with its tombstone; dead letters record the reason; the job then finishes", async () => {
      const id = await newJob(docs(3));
      const [r0, r1, r2] = await lease("w", 3, id);
      await stores.queue.complete([done(r0!)]);
      await stores.queue.deadLetter([failed(r1!)]);
      assert.equal(await stores.ledger.finishIfDone(id), null, "a job with a document in flight is not done");
      assert.equal(await stores.queue.liveCount(id), 1);
      await stores.queue.complete([done(r2!)]);
      assert.equal(await stores.queue.liveCount(id), 0);
      const finished = (await stores.ledger.finishIfDone(id))!;
      assert.deepEqual([finished.state, finished.done, finished.failed], ["COMPLETED", 2, 1]);
      const detail = await stores.ledger.getJob(id, { documents: true, stages: true });
      assert.deepEqual(detail.documents!.find((d) => d.docId === "d1")!.error, {
        code: "PDF_CORRUPT",
        message: "d1: corrupt",
      });
      assert.equal(detail.documents!.find((d) => d.docId === "d0")!.outcome, "inserted");
      assert.equal(detail.documents!.find((d) => d.docId === "d0")!.stages![0]!.stage, "index");
      const letters = await stores.queue.deadLetters(1000);
      assert.ok(letters.some((d) => d.jobId === id && d.docId === "d1" && d.error === "PDF_CORRUPT: d1: corrupt"));

      const all = await newJob(docs(2, "f"));
      await stores.queue.deadLetter((await lease("w", 2, all)).map(failed));
      assert.equal((await stores.ledger.finishIfDone(all))!.state, "FAILED");
    });

    it("a released record waits for its backoff; a refund does not count toward its attempts", async () => {
      const id = await newJob(docs(1));
      const [r] = await lease("w", 1, id);
      await stores.queue.release(r!.seq, { error: "MODEL_UNAVAILABLE: down", notBefore: Date.now() + 60_000 });
      assert.deepEqual(await lease("w", 1, id), [], "not before its backoff");
      const later = await lease("w", 1, id, { now: Date.now() + 61_000 });
      assert.deepEqual([later[0]?.docId, later[0]?.attempts], ["d0", 2]);
      await stores.queue.release(later[0]!.seq, { owner: "someone-else", notBefore: 0, refund: true });
      assert.equal((await stores.queue.stats()).leased >= 1, true);
      assert.deepEqual(await lease("w2", 1, id), [], "another owner's release hands nothing back");
      await stores.queue.release(later[0]!.seq, {
        owner: "w",
        error: "CIRCUIT_OPEN: open",
        notBefore: 0,
        refund: true,
      });
      assert.equal((await lease("w", 1, id))[0]?.attempts, 2, "the refunded lease is given back");
    });

    it("renew extends only this owner's leases and names the ones it lost", async () => {
      const id = await newJob(docs(2));
      const [a] = await lease("w1", 1, id, { leaseMs: 1 });
      const [b] = await lease("w2", 1, id, { leaseMs: 60_000 });
      assert.deepEqual(await stores.queue.renew("w2", [b!.seq], 60_000), []);
      assert.deepEqual(
        await stores.queue.renew("w2", [a!.seq], 60_000),
        [a!.seq],
        "another owner's lease is not renewed",
      );
      await stores.queue.complete([done(a!), done(b!)]);
    });

    it("a process that died with documents in flight makes them suspects: no attempt spent, each runs alone", async () => {
      const id = await newJob(docs(3));
      const inFlight = await lease("dead:1:x", 3, id);
      assert.equal(inFlight.length, 3);
      const recovered = await stores.queue.recover((owner) => owner !== "dead:1:x");
      assert.deepEqual(recovered, { suspects: 3, blamed: 0 });
      assert.deepEqual(await lease("other", 10, id), [], "suspects are not leased with other work");
      const [alone] = await lease("solo", 10, id, { suspects: "only" });
      assert.deepEqual(
        [alone?.docId, alone?.suspect, alone?.attempts, alone?.crashes],
        ["d0", true, 1, 0],
        "one suspect at a time, its crash refunded",
      );
      assert.deepEqual(
        await lease("solo", 10, id, { suspects: "only" }),
        [],
        "one suspect per lease, and only one in flight per owner",
      );
      await stores.queue.complete([done(alone!)]);
      assert.equal((await lease("solo", 10, id, { suspects: "only" }))[0]?.docId, "d1");
    });

    it("a process that died running a document alone blames it: an attempt and a crash are counted", async () => {
      const id = await newJob(docs(1));
      await lease("dead:2:x", 1, id);
      await stores.queue.recover((owner) => owner !== "dead:2:x");
      const [suspect] = await lease("dead:3:x", 1, id, { suspects: "only" });
      await stores.queue.isolate("dead:3:x", suspect!.seq);
      assert.deepEqual(await stores.queue.recover((owner) => !owner.startsWith("dead:")), { suspects: 0, blamed: 1 });
      const [again] = await lease("solo-2", 1, id, { suspects: "only" });
      assert.deepEqual([again?.docId, again?.attempts, again?.crashes, again?.suspect], ["d0", 2, 1, true]);
    });

    it("an expired lease is recovered like a dead owner's, and its old owner learns it lost it", async () => {
      const id = await newJob(docs(1));
      const [slow] = await lease("slow", 1, id, { leaseMs: 1 });
      assert.deepEqual(await stores.queue.recover(() => true, Date.now() + 1_000), { suspects: 1, blamed: 0 });
      assert.deepEqual(await stores.queue.renew("slow", [slow!.seq], 60_000), [slow!.seq]);
      assert.equal((await lease("solo-3", 1, id, { suspects: "only" }))[0]?.docId, "d0");
    });

    it("a waiting record holds no lease and spends no attempt; a signal or its time wakes it", async () => {
      const id = await newJob(docs(2));
      const [a, b] = await lease("w", 2, id);
      const at = (ms: number) => new Date(Date.parse("2026-12-03T10:00:00Z") + ms).toISOString();
      await stores.queue.wait(a!.seq, {
        condition: `pdf-ready:${id}:d0`,
        reason: "waiting for the parsed PDF",
        stage: "ir",
        stages: [
          { stage: "download", state: "COMPLETED", attempts: 1, startedAt: at(0), finishedAt: at(2), error: null },
          { stage: "pdf_downloaded", state: "REACHED", attempts: 0, startedAt: at(1), finishedAt: at(1), error: null },
          { stage: "ir", state: "WAITING", attempts: 1, startedAt: at(3), finishedAt: null, error: "OCR is away" },
        ],
      });
      await stores.queue.wait(b!.seq, { condition: `never:${id}`, until: Date.now() + 60_000 });
      assert.equal((await stores.ledger.getJob(id)).waiting, 2);
      // The document says why it waits and where, with the stages it got through (none is an error).
      const [d0] = (await stores.ledger.getJob(id, { documents: true, stages: true })).documents ?? [];
      assert.deepEqual(
        [d0?.state, d0?.error, d0?.waiting],
        ["WAITING", null, { stage: "ir", reason: "waiting for the parsed PDF" }],
      );
      assert.deepEqual(
        d0?.stages?.map((s) => [s.stage, s.state]),
        [
          ["download", "COMPLETED"],
          ["pdf_downloaded", "REACHED"],
          ["ir", "WAITING"],
        ],
      );
      assert.equal(await stores.queue.liveCount(id), 2, "waiting records are live");
      assert.equal((await stores.queue.stats()).waiting >= 2, true);
      assert.deepEqual(await lease("w", 10, id), []);
      assert.equal(await stores.queue.signal(`pdf-ready:${id}:d0`), 1);
      assert.equal(await stores.queue.signal(`pdf-ready:${id}:d0`), 0, "a signal wakes a waiter once");
      const woken = await lease("w", 10, id);
      const [back] = (await stores.ledger.getJob(id, { documents: true })).documents ?? [];
      assert.deepEqual(
        [back?.state, back?.error, back?.waiting],
        ["PROCESSING", null, undefined],
        "woken, it waits no more",
      );
      assert.deepEqual(
        woken.map((r) => [r.docId, r.attempts]),
        [["d0", 1]],
        "the wait gave its attempt back",
      );
      const timed = await lease("w", 10, id, { now: Date.now() + 61_000 });
      assert.deepEqual(
        timed.map((r) => r.docId),
        ["d1"],
        "a wait with a time ends at that time",
      );
    });

    it("cancel retires a job's live and waiting records; requeue brings back cancelled and dead ones with fresh attempts", async () => {
      const id = await newJob(docs(3));
      const [r0, r1] = await lease("w", 2, id);
      await stores.queue.complete([done(r0!)]);
      await stores.queue.deadLetter([failed(r1!)]);
      await stores.ledger.cancelJob(id);
      assert.equal(await stores.queue.cancelJob(id), 1);
      assert.deepEqual(await lease("w", 10, id), [], "a cancelled job's records are not leased");
      assert.equal(await stores.queue.liveCount(id), 0);
      await stores.ledger.resumeJob(id);
      assert.equal(await stores.queue.requeueJob(id), 2);
      assert.deepEqual(
        (await lease("w", 10, id)).map((r) => [r.docId, r.attempts]),
        [
          ["d1", 1],
          ["d2", 1],
        ],
      );
    });

    it("a dead letter can be retried (its document and job run again) or dropped", async () => {
      const id = await newJob(docs(2));
      const [a, b] = await lease("w", 2, id);
      await stores.queue.deadLetter([failed(a!), failed(b!)]);
      assert.equal((await stores.ledger.finishIfDone(id))!.state, "FAILED");
      assert.deepEqual(await stores.queue.retryDeadLetter(a!.seq), { jobId: id, docId: "d0" });
      assert.equal(await stores.queue.retryDeadLetter(a!.seq), null, "no longer a dead letter");
      await stores.ledger.reopenDocument(id, "d0");
      assert.equal((await stores.ledger.getJob(id)).state, "PENDING");
      assert.deepEqual(
        (await lease("w", 5, id)).map((r) => [r.docId, r.attempts]),
        [["d0", 1]],
      );
      assert.equal(await stores.queue.dropDeadLetter(b!.seq), true);
      assert.equal(await stores.queue.dropDeadLetter(b!.seq), false);
      assert.ok(!(await stores.queue.deadLetters(1000)).some((d) => d.seq === b!.seq));
    });

    it("drains lanes with weighted fairness and wastes no idle share", async () => {
      const mixed = await newJob([...docs(200, "b", "bulk"), ...docs(200, "h", "high"), ...docs(200, "n", "normal")]);
      const lanes = (rs: Lease[]) =>
        rs.reduce<Record<string, number>>((a, r) => ({ ...a, [r.lane]: (a[r.lane] ?? 0) + 1 }), {});
      assert.deepEqual(
        lanes(await lease("w", 100, mixed)),
        { high: 60, normal: 30, bulk: 10 },
        "high cannot starve the rest, bulk still moves",
      );
      const alone = await newJob(docs(50, "b", "bulk"));
      assert.equal((await lease("w", 40, alone)).length, 40, "a lane alone gets the whole lease");
      const urgent = await newJob([...docs(500, "b", "bulk"), ...docs(1, "urgent", "high")]);
      assert.ok(
        (await lease("w", 10, urgent)).some((r) => r.docId === "urgent0"),
        "bulk cannot starve high",
      );
    });

    it("reports per-lane counts, bytes, the oldest record's age, and reclaims tombstones", async () => {
      const id = await newJob([...docs(1, "s", "high"), ...docs(1, "t", "bulk")]);
      const before = await stores.queue.stats();
      assert.ok(before.pending.high >= 1 && before.pending.bulk >= 1 && before.bytes > 0);
      const later = await stores.queue.stats(Date.now() + 10_000);
      assert.ok(later.oldestAgeSeconds >= 10);
      assert.ok(later.oldestAgeSecondsByLane.high >= 10 && later.oldestAgeSecondsByLane.bulk >= 10);
      await stores.queue.complete((await lease("w", 2, id)).map(done));
      assert.ok((await stores.queue.stats()).tombstoned >= 2);
      assert.ok((await stores.queue.compact()) >= 2);
      assert.equal((await stores.queue.stats()).tombstoned, 0);
    });
  });
}
