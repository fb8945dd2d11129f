import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { CollectionLock } from "./collection-lock.ts";

const LONG = 60_000;

/**
 * The behaviour every CollectionLock adapter must show. Run it from each adapter's test file;
 * each test uses collections of its own, so one lock serves the whole suite.
 *
 * @example
 * describeCollectionLockConformance("sqlite", async () => new SqliteCollectionLock(join(dir, "ledger.db")));
 */
export function describeCollectionLockConformance(name: string, factory: () => Promise<CollectionLock>): void {
  describe(`CollectionLock conformance: ${name}`, () => {
    let lock: CollectionLock;
    const collection = () => `c-${randomUUID()}`;
    before(async () => {
      lock = await factory();
      await lock.open();
    });
    after(async () => lock.close());

    it("one owner at a time: a held lock is refused to others, and re-acquiring one's own extends it", async () => {
      const c = collection();
      assert.equal(await lock.holder(c), null);
      assert.equal(await lock.acquire(c, "host:1:a", LONG), true);
      assert.equal(await lock.acquire(c, "host:2:b", LONG), false);
      assert.equal(await lock.acquire(c, "host:1:a", LONG), true, "re-entrant for its owner");
      const holder = await lock.holder(c);
      assert.equal(holder?.owner, "host:1:a");
      assert.ok(holder.expiresInMs > 0 && holder.expiresInMs <= LONG, String(holder.expiresInMs));
    });

    it("only the owner renews or releases; once released, another owner can take it", async () => {
      const c = collection();
      assert.equal(await lock.acquire(c, "a", LONG), true);
      assert.equal(await lock.renew(c, "b", LONG), false);
      assert.equal(await lock.release(c, "b"), false);
      assert.equal((await lock.holder(c))?.owner, "a", "a stranger's release changes nothing");
      assert.equal(await lock.renew(c, "a", LONG), true);
      assert.equal(await lock.release(c, "a"), true);
      assert.equal(await lock.holder(c), null);
      assert.equal(await lock.release(c, "a"), false, "nothing left to release");
      assert.equal(await lock.renew(c, "a", LONG), false, "a released lock cannot be renewed back");
      assert.equal(await lock.acquire(c, "b", LONG), true);
    });

    it("a lock lapses after its TTL: another owner takes it, and the old owner can neither renew nor release it", async () => {
      const c = collection();
      assert.equal(await lock.acquire(c, "a", 100), true);
      // Waiting past the TTL (with a margin for timers and clock granularity).
      await sleep(250);
      assert.equal(await lock.holder(c), null);
      assert.equal(await lock.renew(c, "a", LONG), false);
      assert.equal(await lock.acquire(c, "b", LONG), true);
      assert.equal(await lock.release(c, "a"), false);
      assert.equal((await lock.holder(c))?.owner, "b");
    });

    it("renewing keeps a lock past its first TTL", async () => {
      const c = collection();
      assert.equal(await lock.acquire(c, "a", 200), true);
      assert.equal(await lock.renew(c, "a", LONG), true);
      await sleep(300);
      assert.equal(await lock.acquire(c, "b", LONG), false);
      assert.equal((await lock.holder(c))?.owner, "a");
    });

    it("a holder known to be dead is taken over at once; a live one is not", async () => {
      const c = collection();
      assert.equal(await lock.acquire(c, "host:1:dead", LONG), true);
      assert.equal(await lock.acquire(c, "host:2:b", LONG, { isAlive: () => true }), false);
      assert.equal(await lock.acquire(c, "host:2:b", LONG, { isAlive: (owner) => owner !== "host:1:dead" }), true);
      assert.equal((await lock.holder(c))?.owner, "host:2:b");
      assert.equal(
        await lock.release(c, "host:1:dead"),
        false,
        "the dead owner's release cannot free the new holder's lock",
      );
    });

    it("concurrent acquires: exactly one of ten owners wins", async () => {
      const c = collection();
      const owners = Array.from({ length: 10 }, (_, i) => `host:${i}:x`);
      const won = await Promise.all(owners.map((o) => lock.acquire(c, o, LONG)));
      assert.equal(won.filter(Boolean).length, 1);
      assert.equal((await lock.holder(c))?.owner, owners[won.indexOf(true)]);
    });

    it("collections are independent", async () => {
      const a = collection();
      const b = collection();
      assert.equal(await lock.acquire(a, "x", LONG), true);
      assert.equal(await lock.acquire(b, "y", LONG), true);
      assert.equal(await lock.release(a, "x"), true);
      assert.equal((await lock.holder(b))?.owner, "y");
    });
  });
}
