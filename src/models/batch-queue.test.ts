import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { setImmediate as tick, setTimeout as sleep } from "node:timers/promises";
import { SluiceError, type ErrorCode } from "../contracts/errors.ts";
import { BatchQueue, type BatchQueueOptions, type BatchHooks } from "./batch-queue.ts";

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

interface RunCall {
  key: string;
  items: string[];
  signal: AbortSignal;
  /** Time spent inside the run function, measured by the run itself. */
  tookNs?: bigint;
}

/**
 * A BatchQueue over strings whose run function records every batch and answers `${key}:${item}`.
 * While `gate` is unresolved every batch blocks on it; a batch containing "boom" fails.
 */
function harness(options: Partial<BatchQueueOptions> = {}, hooks: BatchHooks = {}) {
  const calls: RunCall[] = [];
  let gate: Deferred | undefined;
  let active = 0;
  let maxActive = 0;
  const queue = new BatchQueue<string, string>(
    async (key, items, signal) => {
      const call: RunCall = { key, items: [...items], signal };
      calls.push(call);
      active++;
      maxActive = Math.max(maxActive, active);
      const started = process.hrtime.bigint();
      try {
        await tick();
        if (gate) await gate.promise;
        if (items.includes("boom")) throw new SluiceError("MODEL_UNAVAILABLE", "backend exploded");
        return items.map((item) => `${key}:${item}`);
      } finally {
        call.tookNs = process.hrtime.bigint() - started;
        active--;
      }
    },
    (item) => item.length,
    { maxBatchItems: 8, maxBatchWeight: 1_000, maxWaitMs: 5, maxQueuedItems: 100, ...options },
    hooks,
  );
  return {
    queue,
    calls,
    get maxActive() {
      return maxActive;
    },
    /** From now on every batch blocks until `open()`. */
    block(): void {
      gate = deferred();
    },
    open(): void {
      gate?.resolve();
      gate = undefined;
    },
  };
}

const expected = (key: string, items: readonly string[]) => items.map((item) => `${key}:${item}`);

function isCode(code: ErrorCode) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof SluiceError, `expected a SluiceError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** Whether a promise has settled, after letting pending callbacks run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  p.then(
    () => (done = true),
    () => (done = true),
  );
  await tick();
  return done;
}

void describe("BatchQueue", () => {
  void describe("batching", () => {
    void it("two concurrent calls of 3 items with the same key share one batch of 6 and each gets its own results in order", async () => {
      const h = harness({ maxBatchItems: 8 });
      const [a, b] = await Promise.all([
        h.queue.submit("passage", ["a1", "a2", "a3"]),
        h.queue.submit("passage", ["b1", "b2", "b3"]),
      ]);
      assert.equal(h.calls.length, 1);
      assert.deepEqual(h.calls[0]?.items, ["a1", "a2", "a3", "b1", "b2", "b3"]);
      assert.deepEqual(a.results, expected("passage", ["a1", "a2", "a3"]));
      assert.deepEqual(b.results, expected("passage", ["b1", "b2", "b3"]));
    });

    void it("never puts items of different keys in one batch", async () => {
      const h = harness({ maxBatchItems: 8 });
      const [a1, q, a2] = await Promise.all([
        h.queue.submit("passage", ["p1", "p2"]),
        h.queue.submit("query", ["q1"]),
        h.queue.submit("passage", ["p3"]),
      ]);
      assert.deepEqual(a1.results, expected("passage", ["p1", "p2"]));
      assert.deepEqual(q.results, expected("query", ["q1"]));
      assert.deepEqual(a2.results, expected("passage", ["p3"]));
      for (const call of h.calls) {
        const prefix = call.key === "passage" ? "p" : "q";
        assert.ok(
          call.items.every((item) => item.startsWith(prefix)),
          `batch for ${call.key} holds ${call.items.join(",")}`,
        );
      }
      assert.deepEqual(
        h.calls.map((c) => [c.key, c.items]).sort(),
        [
          ["passage", ["p1", "p2", "p3"]],
          ["query", ["q1"]],
        ].sort(),
      );
    });

    void it("splits a call at maxBatchItems, keeping its results in order", async () => {
      const h = harness({ maxBatchItems: 4 });
      const items = Array.from({ length: 10 }, (_, i) => `t${i}`);
      const { results } = await h.queue.submit("k", items);
      assert.deepEqual(
        h.calls.map((c) => c.items.length),
        [4, 4, 2],
      );
      assert.deepEqual(
        h.calls.flatMap((c) => c.items),
        items,
      );
      assert.deepEqual(results, expected("k", items));
    });

    void it("splits batches at maxBatchWeight", async () => {
      const h = harness({ maxBatchWeight: 10 });
      const { results } = await h.queue.submit("k", ["aaaa", "bbbb", "cccc", "dd"]);
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [
          ["aaaa", "bbbb"],
          ["cccc", "dd"],
        ],
      );
      assert.deepEqual(results, expected("k", ["aaaa", "bbbb", "cccc", "dd"]));
    });

    void it("runs a single item heavier than maxBatchWeight alone", async () => {
      const h = harness({ maxBatchWeight: 10 });
      const heavy = "x".repeat(25);
      const { results } = await h.queue.submit("k", ["ab", heavy, "cd"]);
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [["ab"], [heavy], ["cd"]],
      );
      assert.deepEqual(results, expected("k", ["ab", heavy, "cd"]));
    });

    void it("holds a partial batch back, then runs it once maxWaitMs has passed without needing a full batch", async () => {
      const h = harness({ maxBatchItems: 100, maxWaitMs: 5 });
      const pending = h.queue.submit("k", ["only"]);
      assert.equal(h.calls.length, 0, "a partial batch waits for company");
      const { results } = await pending;
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [["only"]],
      );
      assert.deepEqual(results, ["k:only"]);
    });

    void it("sends a full batch at once, without waiting for maxWaitMs", async () => {
      const h = harness({ maxBatchItems: 4, maxWaitMs: 60_000 });
      const pending = h.queue.submit("k", ["a", "b", "c", "d"]);
      assert.equal(h.calls.length, 1);
      assert.deepEqual((await pending).results, expected("k", ["a", "b", "c", "d"]));
    });

    void it("sends a full batch of one key at once even while an older partial batch of another key waits", async () => {
      const h = harness({ maxBatchItems: 4, maxWaitMs: 60_000 });
      const partial = h.queue.submit("query", ["q"]);
      const full = h.queue.submit("passage", ["a", "b", "c", "d"]);
      assert.deepEqual(
        h.calls.map((c) => c.key),
        ["passage"],
      );
      assert.deepEqual((await full).results, expected("passage", ["a", "b", "c", "d"]));
      await h.queue.close();
      await assert.rejects(partial, isCode("MODEL_UNAVAILABLE"));
    });

    void it("runs at most `concurrency` batches at once", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0, concurrency: 2 });
      const calls = Array.from({ length: 6 }, (_, i) => h.queue.submit("k", [`a${i}`, `b${i}`]));
      const replies = await Promise.all(calls);
      assert.equal(h.maxActive, 2);
      for (const [i, reply] of replies.entries()) assert.deepEqual(reply.results, expected("k", [`a${i}`, `b${i}`]));
    });

    void it("answers an empty call with no results and without running the model", async () => {
      const h = harness();
      assert.deepEqual(await h.queue.submit("k", []), { results: [], queueTimeNs: 0n, inferenceTimeNs: 0n });
      assert.equal(h.calls.length, 0);
    });
  });

  void describe("bounded queue", () => {
    void it("refuses a call that would pass maxQueuedItems with MODEL_OVERLOADED at once, leaving queued work untouched", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0, maxQueuedItems: 4 });
      h.block();
      const running = h.queue.submit("k", ["r1", "r2"]);
      const queued = h.queue.submit("k", ["q1", "q2", "q3", "q4"]);
      assert.equal(h.queue.depth, 4);
      assert.equal(h.calls.length, 1, "the first batch runs and blocks");

      const refused = h.queue.submit("k", ["x"]);
      await assert.rejects(refused, (err: unknown) => {
        assert.ok(err instanceof SluiceError);
        assert.equal(err.code, "MODEL_OVERLOADED");
        assert.deepEqual(err.details, { queued: 4 });
        return true;
      });
      assert.equal(await settled(running), false, "the refusal came while the running batch still blocks");
      assert.equal(h.queue.depth, 4);

      h.open();
      assert.deepEqual((await running).results, expected("k", ["r1", "r2"]));
      assert.deepEqual((await queued).results, expected("k", ["q1", "q2", "q3", "q4"]));
      assert.ok(h.calls.flatMap((c) => c.items).every((item) => item !== "x"));
    });

    void it("rejects a call larger than the whole queue with VALIDATION_FAILED, even when the queue is empty", async () => {
      const h = harness({ maxQueuedItems: 4 });
      await assert.rejects(h.queue.submit("k", ["1", "2", "3", "4", "5"]), isCode("VALIDATION_FAILED"));
      assert.equal(h.queue.depth, 0);
      assert.equal(h.calls.length, 0);
      assert.deepEqual((await h.queue.submit("k", ["1", "2", "3", "4"])).results, expected("k", ["1", "2", "3", "4"]));
    });
  });

  void describe("cancellation", () => {
    void it("rejects an aborted queued call with the abort reason and never runs its items", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0 });
      h.block();
      const running = h.queue.submit("k", ["r1", "r2"]);
      const controller = new AbortController();
      const cancelled = h.queue.submit("k", ["c1", "c2"], { signal: controller.signal });
      assert.equal(h.queue.depth, 2);
      const reason = new Error("caller went away");
      controller.abort(reason);
      await assert.rejects(cancelled, (err: unknown) => err === reason);
      assert.equal(h.queue.depth, 0);

      h.open();
      assert.deepEqual((await running).results, expected("k", ["r1", "r2"]));
      // A later call goes through a pump after the cancelled one would have run.
      assert.deepEqual((await h.queue.submit("k", ["n1"])).results, ["k:n1"]);
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [["r1", "r2"], ["n1"]],
      );
    });

    void it("rejects at once with the reason when the signal is already aborted", async () => {
      const h = harness();
      const reason = new Error("already gone");
      await assert.rejects(
        h.queue.submit("k", ["a"], { signal: AbortSignal.abort(reason) }),
        (err: unknown) => err === reason,
      );
      assert.equal(h.queue.depth, 0);
      assert.equal(h.calls.length, 0);
    });

    void it("aborts the run's signal when the only call in a running batch is cancelled", async () => {
      const seen: AbortSignal[] = [];
      const ended = deferred();
      const queue = new BatchQueue<string, string>(
        async (_key, items, signal) => {
          seen.push(signal);
          try {
            // A model that stops only when told to.
            await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
            throw signal.reason;
          } finally {
            ended.resolve();
          }
        },
        (item) => item.length,
        { maxBatchItems: 2, maxBatchWeight: 100, maxWaitMs: 0, maxQueuedItems: 10 },
      );
      const controller = new AbortController();
      const call = queue.submit("k", ["a", "b"], { signal: controller.signal });
      assert.equal(seen.length, 1);
      assert.equal(seen[0]?.aborted, false);
      const reason = new Error("client cancelled");
      controller.abort(reason);
      await assert.rejects(
        call,
        (err: unknown) => err === reason,
        "the caller gets its own abort reason, not the batch's",
      );
      await ended.promise;
      assert.equal(seen[0]?.aborted, true);
      assert.ok(seen[0]?.reason instanceof SluiceError);
      assert.equal(seen[0]?.reason.code, "JOB_CANCELLED");
    });

    void it("cancelling a call that is partly running drops its queued rest and aborts the batch it alone holds", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0 });
      h.block();
      const controller = new AbortController();
      const call = h.queue.submit("k", ["a1", "a2", "a3", "a4"], { signal: controller.signal });
      assert.equal(h.queue.depth, 2, "two items run, two wait");
      const reason = new Error("stop");
      controller.abort(reason);
      await assert.rejects(call, (err: unknown) => err === reason);
      assert.equal(h.queue.depth, 0);
      const batch = h.calls[0]!.signal;
      if (!batch.aborted) await new Promise((resolve) => batch.addEventListener("abort", resolve, { once: true }));
      assert.equal(batch.aborted, true);
      h.open();
      assert.deepEqual((await h.queue.submit("k", ["n"])).results, ["k:n"]);
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [["a1", "a2"], ["n"]],
      );
    });

    void it("does not abort a batch shared by two calls when only one of them cancels", async () => {
      const h = harness({ maxBatchItems: 4, maxWaitMs: 60_000 });
      h.block();
      const controller = new AbortController();
      const leaving = h.queue.submit("k", ["a1", "a2"], { signal: controller.signal });
      const staying = h.queue.submit("k", ["b1", "b2"]);
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [["a1", "a2", "b1", "b2"]],
      );
      const reason = new Error("one caller left");
      controller.abort(reason);
      await assert.rejects(leaving, (err: unknown) => err === reason);
      // Give a watcher of the batch several chances to (wrongly) abort it.
      await sleep(25);
      assert.equal(h.calls[0]?.signal.aborted, false);
      h.open();
      assert.deepEqual((await staying).results, expected("k", ["b1", "b2"]));
      assert.equal(h.calls[0]?.signal.aborted, false);
    });

    void it("rejects with DEADLINE_EXCEEDED, without running it, a call whose deadline passed while it was queued", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0 });
      h.block();
      const running = h.queue.submit("k", ["r1", "r2"]);
      const deadline = Date.now() + 10;
      const late = h.queue.submit("k", ["late"], { deadline });
      const onTime = h.queue.submit("k", ["ok"], { deadline: Date.now() + 600_000 });
      while (Date.now() <= deadline) await sleep(deadline - Date.now() + 1);
      h.open();
      await assert.rejects(late, isCode("DEADLINE_EXCEEDED"));
      assert.deepEqual((await running).results, expected("k", ["r1", "r2"]));
      assert.deepEqual((await onTime).results, ["k:ok"]);
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [["r1", "r2"], ["ok"]],
      );
    });
  });

  void describe("failures", () => {
    void it("rejects every call in a failing batch, and keeps working afterwards", async () => {
      const h = harness({ maxBatchItems: 4, maxWaitMs: 60_000 });
      const a = h.queue.submit("k", ["a", "boom"]);
      const b = h.queue.submit("k", ["b1", "b2"]);
      const failures = await Promise.allSettled([a, b]);
      for (const f of failures) {
        assert.equal(f.status, "rejected");
        assert.ok(f.reason instanceof SluiceError && f.reason.message === "backend exploded");
      }
      assert.deepEqual(
        (await h.queue.submit("k", ["c1", "c2", "c3", "c4"])).results,
        expected("k", ["c1", "c2", "c3", "c4"]),
      );
      assert.equal(h.queue.depth, 0);
    });

    void it("rejects a call whose later batch fails, and drops its items that have not run", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0 });
      await assert.rejects(h.queue.submit("k", ["a1", "a2", "boom", "a4", "a5", "a6"]), /backend exploded/);
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [
          ["a1", "a2"],
          ["boom", "a4"],
        ],
      );
      assert.equal(h.queue.depth, 0);
      assert.deepEqual((await h.queue.submit("k", ["n"])).results, ["k:n"]);
    });

    void it("rejects with MODEL_BAD_RESPONSE when the backend returns the wrong number of results", async () => {
      const queue = new BatchQueue<string, string>(
        async () => ["only one"],
        (t) => t.length,
        { maxBatchItems: 4, maxBatchWeight: 100, maxWaitMs: 0, maxQueuedItems: 10 },
      );
      await assert.rejects(queue.submit("k", ["a", "b"]), isCode("MODEL_BAD_RESPONSE"));
    });
  });

  void describe("timing and hooks", () => {
    void it("reports queueTimeNs and inferenceTimeNs as non-negative bigints, inference covering every batch of the call", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0 });
      const { queueTimeNs, inferenceTimeNs } = await h.queue.submit("k", ["a", "b", "c"]);
      assert.equal(typeof queueTimeNs, "bigint");
      assert.equal(typeof inferenceTimeNs, "bigint");
      assert.ok(queueTimeNs >= 0n);
      assert.ok(inferenceTimeNs > 0n, "the run awaited, so model time passed");
      assert.equal(h.calls.length, 2);
      const inside = h.calls.reduce((sum, c) => sum + (c.tookNs ?? 0n), 0n);
      assert.ok(
        inferenceTimeNs >= inside,
        `inference ${inferenceTimeNs} covers both batches (${inside} inside the run)`,
      );
    });

    void it("calls onBatch with each batch's size and seconds, and onDepth with every queue depth", async () => {
      const batches: Array<[number, number]> = [];
      const depths: number[] = [];
      const h = harness(
        { maxBatchItems: 2, maxWaitMs: 0 },
        { onBatch: (n, s) => batches.push([n, s]), onDepth: (n) => depths.push(n) },
      );
      h.block();
      const a = h.queue.submit("k", ["a1", "a2"]);
      const b = h.queue.submit("k", ["b1", "b2", "b3"]);
      assert.equal(h.queue.depth, 3);
      h.open();
      await Promise.all([a, b]);
      assert.deepEqual(depths, [2, 0, 3, 1, 0]);
      assert.deepEqual(
        batches.map(([n]) => n),
        [2, 2, 1],
      );
      for (const [, seconds] of batches) assert.ok(typeof seconds === "number" && seconds >= 0);
    });
  });

  void describe("close", () => {
    void it("rejects waiting calls with MODEL_UNAVAILABLE, refuses new ones, and lets the running batch finish", async () => {
      const h = harness({ maxBatchItems: 2, maxWaitMs: 0 });
      h.block();
      const running = h.queue.submit("k", ["r1", "r2"]);
      const waiting = h.queue.submit("k", ["w1"]);
      const closed = h.queue.close();
      await assert.rejects(waiting, isCode("MODEL_UNAVAILABLE"));
      assert.equal(h.queue.depth, 0);
      await assert.rejects(h.queue.submit("k", ["new"]), isCode("MODEL_UNAVAILABLE"));
      assert.equal(await settled(closed), false, "close() waits for the running batch");
      h.open();
      await closed;
      assert.equal(await settled(running), true, "close() resolved after the running batch finished");
      assert.deepEqual((await running).results, expected("k", ["r1", "r2"]));
      assert.deepEqual(
        h.calls.map((c) => c.items),
        [["r1", "r2"]],
      );
    });

    void it("uses closedMessage for the calls it refuses", async () => {
      const h = harness({ closedMessage: "the model server is shutting down" });
      await h.queue.close();
      await assert.rejects(h.queue.submit("k", ["a"]), {
        code: "MODEL_UNAVAILABLE",
        message: "the model server is shutting down",
      });
    });
  });

  void describe("options", () => {
    void it("refuses limits that are not positive integers (or numbers ≥ 0 for times and weights) with CONFIG_INVALID", () => {
      const run = async (_key: string, items: string[]) => items;
      const base = { maxBatchItems: 4, maxWaitMs: 0 };
      for (const bad of [
        { maxBatchItems: 0 },
        { maxBatchItems: 1.5 },
        { concurrency: 0 },
        { maxQueuedItems: -1 },
        { maxWaitMs: -1 },
        { maxBatchWeight: Number.NaN },
      ]) {
        assert.throws(
          () => new BatchQueue<string, string>(run, (t) => t.length, { ...base, ...bad }),
          isCode("CONFIG_INVALID"),
          JSON.stringify(bad),
        );
      }
    });

    void it("without maxBatchWeight and maxQueuedItems, neither weight nor queue length is bounded", async () => {
      const queue = new BatchQueue<string, string>(
        async (_key, items) => items,
        () => 1_000_000,
        { maxBatchItems: 3, maxWaitMs: 0 },
      );
      const items = Array.from({ length: 10_000 }, (_, i) => `t${i}`);
      assert.deepEqual((await queue.submit("k", items)).results, items);
    });
  });
});
