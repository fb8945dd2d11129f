import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isPushback, isSluiceError } from "../contracts/errors.ts";
import { HeldCollectionLocks } from "./held-collection-locks.ts";
import { SqliteCollectionLock } from "./sqlite/sqlite-collection-lock.ts";

async function memoryLock(now: () => number): Promise<SqliteCollectionLock> {
  const lock = new SqliteCollectionLock(":memory:", { now });
  await lock.open();
  return lock;
}

void describe("HeldCollectionLocks", () => {
  void it("the first document takes the lock, later ones share it, the last one out releases it", async () => {
    const lock = await memoryLock(Date.now);
    const held = new HeldCollectionLocks(lock, "host:1:w");
    const [a, b] = await Promise.all([held.enter("docs"), held.enter("docs")]);
    assert.equal((await lock.holder("docs"))?.owner, "host:1:w");
    await a.exit();
    await a.exit(); // idempotent: one share is given back once
    assert.equal((await lock.holder("docs"))?.owner, "host:1:w", "still one document in flight");
    await b.exit();
    assert.equal(await lock.holder("docs"), null);
    await lock.close();
  });

  void it("with lingerMs the last one out keeps the lock for the next document, until the linger passes or releaseIdle", async () => {
    let now = 0;
    const lock = await memoryLock(() => now);
    let acquires = 0;
    const acquire = lock.acquire.bind(lock);
    lock.acquire = (...args) => {
      acquires++;
      return acquire(...args);
    };
    const held = new HeldCollectionLocks(lock, "host:1:w", { ttlMs: 9_000, lingerMs: 1_000, now: () => now });
    await (await held.enter("docs")).exit();
    assert.equal((await lock.holder("docs"))?.owner, "host:1:w", "lingering: still held");
    now = 500;
    const next = await held.enter("docs");
    assert.equal(acquires, 1, "the next document reuses the held lock");
    await next.exit();
    now = 1_400;
    await held.renewDue();
    assert.equal((await lock.holder("docs"))?.owner, "host:1:w", "idle for 900 ms of 1,000: kept");
    now = 1_500;
    await held.renewDue();
    assert.equal(await lock.holder("docs"), null, "idle for the linger: released");
    assert.deepEqual(held.held(), []);
    // releaseIdle lets go at once; a share still out is never released by it.
    const [a, b] = await Promise.all([held.enter("docs"), held.enter("other")]);
    await a.exit();
    await held.releaseIdle();
    assert.equal(await lock.holder("docs"), null);
    assert.equal((await lock.holder("other"))?.owner, "host:1:w");
    await b.exit();
    await held.releaseAll();
    assert.equal(await lock.holder("other"), null);
    await lock.close();
  });

  void it("a collection another live process holds is refused with COLLECTION_LOCKED, retryable pushback naming the holder", async () => {
    const lock = await memoryLock(Date.now);
    await lock.acquire("docs", "other-host:7:x", 60_000);
    const held = new HeldCollectionLocks(lock, "host:1:w", { isAlive: () => true });
    const err: unknown = await held.enter("docs").then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(isSluiceError(err) && err.code === "COLLECTION_LOCKED", String(err));
    assert.ok(err.retryable && isPushback(err));
    assert.match(err.message, /other-host:7:x/);
    assert.deepEqual(held.held(), [], "a refusal leaves nothing held");
    // A dead holder is taken over.
    const takeover = new HeldCollectionLocks(lock, "host:1:w", { isAlive: (o) => o !== "other-host:7:x" });
    const share = await takeover.enter("docs");
    assert.equal((await lock.holder("docs"))?.owner, "host:1:w");
    await share.exit();
    await lock.close();
  });

  void it("renews once a third of the TTL has passed; a lock found lost aborts the work under it", async () => {
    let now = 0;
    const lock = await memoryLock(() => now);
    const held = new HeldCollectionLocks(lock, "host:1:w", { ttlMs: 900, now: () => now });
    const controller = new AbortController();
    const share = await held.enter("docs", controller);
    now = 200;
    await held.renewDue();
    assert.equal((await lock.holder("docs"))?.expiresInMs, 700, "not due yet: not renewed");
    now = 300;
    await held.renewDue();
    assert.equal((await lock.holder("docs"))?.expiresInMs, 900, "renewed to a full TTL");
    // This process stalls past the TTL and another takes the lock over.
    now = 1_300;
    assert.equal(await lock.acquire("docs", "host:2:z", 60_000), true);
    await held.renewDue();
    assert.equal(controller.signal.aborted, true);
    assert.ok(isSluiceError(controller.signal.reason) && controller.signal.reason.code === "COLLECTION_LOCKED");
    await share.exit();
    assert.equal(
      (await lock.holder("docs"))?.owner,
      "host:2:z",
      "the lost share's exit does not release the new holder's lock",
    );
    await lock.close();
  });
});
