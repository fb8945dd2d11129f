import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Lane, NewSpoolRecord, Spool } from "./spool.ts";

const rec = (docId: string, lane: Lane = "normal", jobId = "j1"): NewSpoolRecord => ({ jobId, docId, lane, envelope: new TextEncoder().encode(`envelope of ${docId}`) });

/**
 * The behaviour every Spool adapter must show. Each test gets a fresh spool from `factory`.
 *
 * @example
 * describeSpoolConformance("sqlite", () => new SqliteSpool(openSqlite(":memory:")));
 */
export function describeSpoolConformance(name: string, factory: () => Spool): void {
  describe(`Spool conformance: ${name}`, () => {
    let spool: Spool;
    const fresh = () => (spool = factory());

    it("leases appended records in order, each to one worker until its lease expires", () => {
      fresh();
      spool.append([rec("a"), rec("b"), rec("c")], 1000);
      const first = spool.lease("w1", 2, 10_000, { now: 1000 });
      assert.deepEqual(first.map((r) => [r.docId, r.attempts]), [["a", 1], ["b", 1]]);
      assert.equal(new TextDecoder().decode(first[0]!.envelope), "envelope of a");
      assert.deepEqual(spool.lease("w2", 10, 10_000, { now: 2000 }).map((r) => r.docId), ["c"]);
      assert.deepEqual(spool.lease("w2", 10, 10_000, { now: 3000 }), [], "leased records are not handed out twice");
      const again = spool.lease("w2", 10, 10_000, { now: 20_000 });
      assert.deepEqual(again.map((r) => [r.docId, r.attempts]), [["a", 2], ["b", 2], ["c", 2]], "an expired lease is leased again");
    });

    it("tombstones completed records and compaction reclaims them", () => {
      fresh();
      const seqs = spool.append([rec("a"), rec("b")]);
      spool.lease("w", 10, 60_000);
      spool.tombstone([seqs[0]!]);
      let stats = spool.stats();
      assert.deepEqual([stats.pending.normal, stats.leased, stats.tombstoned], [1, 1, 1]);
      assert.equal(spool.compact(), 1);
      stats = spool.stats();
      assert.equal(stats.tombstoned, 0);
      assert.equal(stats.bytes, new TextEncoder().encode("envelope of b").byteLength);
    });

    it("a released record waits for its backoff, then is leased again", () => {
      fresh();
      const [seq] = spool.append([rec("a")], 0);
      spool.lease("w", 1, 60_000, { now: 0 });
      spool.release(seq!, "MODEL_UNAVAILABLE: down", 5_000);
      assert.deepEqual(spool.lease("w", 1, 60_000, { now: 4_000 }), []);
      assert.equal(spool.lease("w", 1, 60_000, { now: 5_000 })[0]?.attempts, 2);
    });

    it("a refunded release does not count toward the attempt limit", () => {
      fresh();
      const [seq] = spool.append([rec("a")], 0);
      spool.lease("w", 1, 60_000, { now: 0 });
      spool.release(seq!, "CIRCUIT_OPEN: breaker open", 1_000, { refund: true });
      assert.equal(spool.lease("w", 1, 60_000, { now: 1_000 })[0]?.attempts, 1);
    });

    it("drains lanes with weighted fairness and wastes no idle share", () => {
      fresh();
      spool.append([...Array.from({ length: 200 }, (_, i) => rec(`b${i}`, "bulk")), ...Array.from({ length: 200 }, (_, i) => rec(`h${i}`, "high")), ...Array.from({ length: 200 }, (_, i) => rec(`n${i}`, "normal"))]);
      const lanes = (rs: Array<{ lane: Lane }>) => rs.reduce<Record<string, number>>((a, r) => ({ ...a, [r.lane]: (a[r.lane] ?? 0) + 1 }), {});
      const mix = lanes(spool.lease("w", 100, 60_000));
      assert.deepEqual(mix, { high: 60, normal: 30, bulk: 10 }, "high cannot starve the rest, bulk still moves");
      fresh();
      spool.append(Array.from({ length: 50 }, (_, i) => rec(`b${i}`, "bulk")));
      assert.equal(spool.lease("w", 40, 60_000).length, 40, "a lane alone gets the whole lease");
      fresh();
      spool.append([...Array.from({ length: 500 }, (_, i) => rec(`b${i}`, "bulk")), rec("urgent", "high")]);
      assert.ok(spool.lease("w", 10, 60_000).some((r) => r.docId === "urgent"), "bulk cannot starve high");
    });

    it("frees the leases of a dead owner at once", () => {
      fresh();
      spool.append([rec("a"), rec("b")]);
      spool.lease("dead-worker", 1, 600_000);
      spool.lease("live-worker", 1, 600_000);
      assert.equal(spool.recover((owner) => owner === "live-worker"), 1);
      assert.deepEqual(spool.lease("w", 10, 60_000).map((r) => r.docId), ["a"]);
    });

    it("moves poison records to the dead-letter lane; retry and drop take them out", () => {
      fresh();
      const [a, b] = spool.append([rec("a"), rec("b")]);
      spool.lease("w", 2, 60_000);
      spool.deadLetter(a!, "PDF_CORRUPT: a.pdf: truncated");
      spool.deadLetter(b!, "attempt limit reached");
      assert.deepEqual(spool.deadLetters().map((d) => [d.docId, d.error]), [["a", "PDF_CORRUPT: a.pdf: truncated"], ["b", "attempt limit reached"]]);
      assert.equal(spool.stats().dead, 2);
      assert.equal(spool.retryDeadLetter(a!), true);
      assert.equal(spool.dropDeadLetter(b!), true);
      assert.equal(spool.dropDeadLetter(b!), false);
      assert.deepEqual(spool.lease("w", 10, 60_000).map((r) => [r.docId, r.attempts]), [["a", 1]]);
      assert.equal(spool.stats().dead, 0);
    });

    it("cancels and requeues one job's records, and leases one job's records only when asked", () => {
      fresh();
      spool.append([rec("a", "normal", "j1"), rec("b", "normal", "j2"), rec("c", "normal", "j1")]);
      assert.deepEqual(spool.lease("w", 10, 60_000, { jobId: "j2" }).map((r) => r.docId), ["b"]);
      assert.equal(spool.cancelJob("j1"), 2);
      assert.deepEqual(spool.lease("w", 10, 60_000), []);
      assert.equal(spool.requeueJob("j1"), 2);
      assert.deepEqual(spool.lease("w", 10, 60_000).map((r) => r.docId), ["a", "c"]);
    });

    it("reports pending per lane, bytes and the oldest live record's age", () => {
      fresh();
      spool.append([rec("a", "high"), rec("b", "bulk")], 10_000);
      const stats = spool.stats(25_000);
      assert.deepEqual(stats.pending, { high: 1, normal: 0, bulk: 1 });
      assert.equal(stats.oldestAgeSeconds, 15);
      assert.ok(stats.bytes > 0);
    });
  });
}
