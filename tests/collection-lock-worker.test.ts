import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { Sluice } from "../src/engine/sluice.ts";
import type { SqliteLedger } from "../src/ledger/sqlite/sqlite-ledger.ts";
import { SqliteCollectionLock } from "../src/locks/sqlite/sqlite-collection-lock.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";

void describe("the worker takes each collection's lock (SQLite, in ledger.db)", () => {
  let dir: string;
  let sluice: Sluice;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-lock-worker-"));
    sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      cwd: dir,
      embedder: new HashEmbedder({ dimensions: 64 }),
    });
  });
  after(async () => {
    await sluice.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it("documents of a collection another live process holds go back to the spool unspent, and run once it is released; other collections are not held back", async () => {
    // A second connection to the same ledger.db stands for another process; "elsewhere" is
    // another host, so no pid check can call it dead.
    const other = new SqliteCollectionLock(join(sluice.dataDir, "ledger.db"));
    await other.open();
    assert.equal(await other.acquire("held", "elsewhere:1:x", 60_000), true);

    const held = await sluice.submitDocuments({
      collection: "held",
      documents: [
        { id: "a", text: "alpha beta" },
        { id: "b", text: "gamma delta" },
      ],
    });
    const free = await sluice.submitDocuments({ collection: "free", documents: [{ id: "c", text: "epsilon" }] });
    assert.equal((await sluice.runJob(free.id)).state, "COMPLETED", "a collection nobody holds runs at once");

    const run = sluice.runJob(held.id);
    const spool = (sluice.ledger as SqliteLedger).db;
    const refused = () =>
      spool
        .prepare<[string], { n: number }>(
          "select count(*) as n from spool where job_id = ? and last_error like 'COLLECTION_LOCKED:%'",
        )
        .get(held.id)!.n;
    for (let i = 0; refused() === 0 && i < 300; i++) await sleep(50);
    assert.ok(refused() > 0, "the worker was refused the lock");
    assert.equal((await sluice.ledger.getJob(held.id)).done, 0);
    assert.equal((await other.holder("held"))?.owner, "elsewhere:1:x");
    assert.equal(await sluice.store.getCollection("held"), null, "nothing was written to the held collection");

    assert.equal(await other.release("held", "elsewhere:1:x"), true);
    const job = await run;
    assert.deepEqual([job.state, job.done], ["COMPLETED", 2]);
    const attempts = spool
      .prepare<[string], { attempts: number }>("select attempts from spool where job_id = ?")
      .all(held.id)
      .map((r) => r.attempts);
    assert.deepEqual(attempts, [1, 1], "refusals were refunded");
    assert.equal(
      await other.holder("held"),
      null,
      "the worker released the lock when it had nothing of the collection in flight",
    );
    await other.close();
  });
});
