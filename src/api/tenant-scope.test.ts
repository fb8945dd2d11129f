import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SluiceError } from "../contracts/errors.ts";
import type { Job } from "../contracts/index.ts";
import type { IndexStore } from "../store/index-store.ts";
import { assertCollectionName } from "../store/index-store.ts";
import { CollectionNameSchema } from "./schemas.ts";
import { TenantScope, tenantOf } from "./tenant-scope.ts";

const job = (collection: string, error: string | null = null): Job => ({
  id: "job_1",
  collection,
  pipeline: "auto",
  state: "FAILED",
  currentStage: null,
  total: 1,
  done: 0,
  failed: 1,
  cancelled: 0,
  waiting: 0,
  error,
  createdAt: "t",
  updatedAt: "t",
  documents: [
    {
      docId: "d",
      source: "upload:d",
      state: "FAILED",
      currentStage: null,
      attempts: 1,
      error: { code: "EMBEDDER_MISMATCH", message: `collection "${collection}" holds vectors from x` },
      outcome: null,
    },
  ],
});

const store = (names: string[]) =>
  ({ listCollections: async () => names.map((name) => ({ name })) }) as unknown as IndexStore;

void describe("TenantScope", () => {
  const acme = new TenantScope("acme");
  const def = new TenantScope("default");

  void it("maps names in and out; the default tenant keeps plain names", () => {
    assert.equal(acme.internal("docs"), "acme~docs");
    assert.equal(def.internal("docs"), "docs");
    assert.equal(acme.publicName("acme~docs"), "docs");
    assert.equal(acme.publicName("docs"), undefined);
    assert.equal(acme.publicName("acme2~docs"), undefined);
    assert.equal(def.publicName("acme~docs"), undefined);
    assert.equal(tenantOf("acme~docs"), "acme");
    assert.equal(tenantOf("docs"), "default");
  });

  void it("internal names pass the store's check; the public schema still refuses the separator", () => {
    assertCollectionName(acme.internal("a".repeat(64)));
    assert.throws(() => assertCollectionName("~docs"), { code: "COLLECTION_INVALID" });
    assert.throws(() => assertCollectionName("a~b~c"), { code: "COLLECTION_INVALID" });
    assert.equal(CollectionNameSchema.safeParse("acme~docs").success, false);
  });

  void it("shows its own jobs with the public name and hides others'", () => {
    const mine = acme.publicJob(job("acme~docs", 'EMBEDDER_MISMATCH: collection "acme~docs" holds vectors from x'));
    assert.equal(mine?.collection, "docs");
    assert.equal(mine?.error, 'EMBEDDER_MISMATCH: collection "docs" holds vectors from x');
    assert.equal(mine?.documents?.[0]?.error?.message, 'collection "docs" holds vectors from x');
    assert.ok(!JSON.stringify(mine).includes("~"));
    assert.equal(acme.publicJob(job("docs")), undefined);
    assert.equal(def.publicJob(job("acme~docs")), undefined);
    assert.equal(def.publicJob(job("docs"))?.collection, "docs");
  });

  void it("guard: a missing collection lists only the tenant's own; other messages lose the prefix", async () => {
    const s = store(["acme~docs", "acme~notes", "docs", "globex~secret"]);
    const missing = () =>
      Promise.reject(
        new SluiceError(
          "COLLECTION_NOT_FOUND",
          'collection "acme~x" does not exist; collections: acme~docs, acme~notes, docs, globex~secret',
        ),
      );
    await assert.rejects(acme.guard(s, "x", missing), {
      code: "COLLECTION_NOT_FOUND",
      message: 'collection "x" does not exist; collections: docs, notes',
    });
    await assert.rejects(def.guard(s, "x", missing), { message: 'collection "x" does not exist; collections: docs' });
    await assert.rejects(new TenantScope("initech").guard(s, "x", missing), {
      message: 'collection "x" does not exist; collections: (none)',
    });
    const other = () =>
      Promise.reject(
        new SluiceError("DOCUMENT_NOT_FOUND", 'document "d" is not in collection "acme~docs"', {
          details: { collection: "acme~docs" },
        }),
      );
    await assert.rejects(acme.guard(s, "docs", other), (err: SluiceError) => {
      assert.equal(err.message, 'document "d" is not in collection "docs"');
      assert.deepEqual(err.details, { collection: "docs" });
      return true;
    });
  });
});
