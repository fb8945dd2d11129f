import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { hsToken, type LiveServer, startServer } from "./helpers/auth-server.ts";

const SECRET = randomBytes(48).toString("base64");
const INTERNAL = randomBytes(32).toString("hex");

interface JobJson {
  id: string;
  collection: string;
  state: string;
  documents: Array<{ docId: string; state: string }>;
}
interface QueryJson {
  results: Array<{ docId: string }>;
}

const notFound = (code: string, message: string) => ({ statusCode: 404, code, error: "Not Found", message });

void describe("tenancy: every /v1 route sees only the caller's tenant", () => {
  let s: LiveServer;
  let A: string;
  let B: string;
  let D: string;
  let adminB: string;
  let jobA1: string;
  let jobA2: string;
  let jobPendingA: string;

  async function upload(
    token: string,
    collection: string,
    documents: Array<{ id: string; text: string }>,
  ): Promise<string> {
    const res = await s.call("POST", `/v1/collections/${collection}/documents`, { token, body: { documents } });
    assert.equal(res.status, 202, res.text);
    return (res.body as { jobId: string }).jobId;
  }
  const query = async (token: string, collection: string, q: string) => {
    const res = await s.call("POST", "/v1/query", {
      token,
      body: { collection, query: q, mode: "lexical", answer: false },
    });
    return {
      status: res.status,
      body: res.body,
      ids: res.status === 200 ? (res.body as QueryJson).results.map((r) => r.docId) : [],
    };
  };

  before(async () => {
    s = await startServer({ jwtSecret: SECRET, internalSecret: INTERNAL });
    A = await hsToken(SECRET, { sub: "ann", tenant: "tenant-a", scope: "ingest query" });
    B = await hsToken(SECRET, { sub: "bob", tenant: "tenant-b", scope: "ingest query" });
    D = await hsToken(SECRET, { sub: "dee", tenant: "default", scope: "ingest query" });
    adminB = await hsToken(SECRET, { sub: "ops", tenant: "tenant-b", scope: "admin" });
    jobA1 = await upload(A, "shared", [{ id: "a1", text: "alpha apples grow in the orchard" }]);
    jobA2 = await upload(A, "a-only", [{ id: "a2", text: "alpha secrets of tenant a" }]);
    const jobB1 = await upload(B, "shared", [{ id: "b1", text: "beta bananas grow in the greenhouse" }]);
    for (const id of [jobA1, jobA2, jobB1]) assert.equal((await s.sluice.runJob(id)).state, "COMPLETED");
    // A collection made outside the API (CLI, embedded use) is tenant "default"'s.
    const legacy = await s.sluice.submitDocuments({
      collection: "legacy",
      documents: [{ id: "l1", text: "legacy lore" }],
    });
    await s.sluice.runJob(legacy.id);
    // A job of A's that is still pending (nothing runs it until the cancel/resume test), for cancel and resume.
    jobPendingA = await upload(A, "a-pending", [{ id: "p1", text: "pending work" }]);
  });
  after(async () => s.close());

  void it("stores tenant t's collection c as t~c; default keeps plain names", async () => {
    const names = (await s.sluice.store.listCollections()).map((c) => c.name).sort();
    assert.deepEqual(names, ["legacy", "tenant-a~a-only", "tenant-a~shared", "tenant-b~shared"]);
  });

  void it("GET /v1/collections/:c: another tenant's collection is 404, and the list names only the caller's", async () => {
    assert.deepEqual(
      (await s.call("GET", "/v1/collections/a-only", { token: B })).body,
      notFound("COLLECTION_NOT_FOUND", 'collection "a-only" does not exist; collections: shared'),
    );
    assert.deepEqual(
      (await s.call("GET", "/v1/collections/legacy", { token: A })).body,
      notFound("COLLECTION_NOT_FOUND", 'collection "legacy" does not exist; collections: a-only, shared'),
    );
    assert.deepEqual(
      (await s.call("GET", "/v1/collections/shared", { token: D })).body,
      notFound("COLLECTION_NOT_FOUND", 'collection "shared" does not exist; collections: legacy'),
    );
    // The same name in two tenants is two collections.
    assert.deepEqual((await s.call("GET", "/v1/collections/shared", { token: A })).body, {
      name: "shared",
      documents: 1,
      chunks: 1,
      pending: 0,
    });
    assert.deepEqual((await s.call("GET", "/v1/collections/shared", { token: B })).body, {
      name: "shared",
      documents: 1,
      chunks: 1,
      pending: 0,
    });
    assert.deepEqual((await s.call("GET", "/v1/collections/legacy", { token: D })).body, {
      name: "legacy",
      documents: 1,
      chunks: 1,
      pending: 0,
    });
  });

  void it("POST /v1/query: another tenant's collection is 404; a shared name searches only the caller's documents", async () => {
    const other = await query(B, "a-only", "alpha secrets");
    assert.equal(other.status, 404);
    assert.deepEqual(
      other.body,
      notFound("COLLECTION_NOT_FOUND", 'collection "a-only" does not exist; collections: shared'),
    );
    assert.deepEqual((await query(B, "shared", "alpha apples orchard bananas")).ids, ["b1"]);
    assert.deepEqual((await query(A, "shared", "alpha apples orchard bananas")).ids, ["a1"]);
    assert.deepEqual((await query(A, "a-only", "alpha secrets")).ids, ["a2"]);
    assert.equal((await query(A, "legacy", "lore")).status, 404);
    assert.deepEqual((await query(D, "legacy", "lore")).ids, ["l1"]);
  });

  void it("GET /v1/jobs/:id: another tenant's job is 404 exactly like a job that does not exist", async () => {
    const res = await s.call("GET", `/v1/jobs/${jobA1}`, { token: B });
    assert.equal(res.status, 404);
    assert.deepEqual(res.body, notFound("JOB_NOT_FOUND", `job "${jobA1}" not found`));
    const ghost = await s.call("GET", "/v1/jobs/job_does_not_exist", { token: B });
    assert.deepEqual(ghost.body, notFound("JOB_NOT_FOUND", 'job "job_does_not_exist" not found'));
    assert.equal((await s.call("GET", `/v1/jobs/${jobA1}`, { token: D })).status, 404);
  });

  void it("GET /v1/jobs/:id: the owner sees the job with the public collection name, no internal prefix anywhere", async () => {
    const res = await s.call("GET", `/v1/jobs/${jobA1}`, { token: A });
    assert.equal(res.status, 200, res.text);
    const job = res.body as JobJson;
    assert.equal(job.collection, "shared");
    assert.equal(job.state, "COMPLETED");
    assert.deepEqual(
      job.documents.map((d) => [d.docId, d.state]),
      [["a1", "COMPLETED"]],
    );
    assert.ok(!res.text.includes("tenant-a~"), res.text);
  });

  void it("POST /v1/jobs/:id/cancel and /resume: another tenant's job is 404 and stays as it was; the owner can", async () => {
    for (const action of ["cancel", "resume"]) {
      const res = await s.call("POST", `/v1/jobs/${jobPendingA}/${action}`, { token: B });
      assert.deepEqual(res.body, notFound("JOB_NOT_FOUND", `job "${jobPendingA}" not found`), action);
    }
    assert.equal((await s.sluice.ledger.getJob(jobPendingA)).state, "PENDING");
    const cancel = await s.call("POST", `/v1/jobs/${jobPendingA}/cancel`, { token: A });
    assert.equal(cancel.status, 200, cancel.text);
    assert.deepEqual([(cancel.body as JobJson).state, (cancel.body as JobJson).collection], ["CANCELLED", "a-pending"]);
    assert.equal((await s.call("POST", `/v1/jobs/${jobPendingA}/resume`, { token: B })).status, 404);
    const resume = await s.call("POST", `/v1/jobs/${jobPendingA}/resume`, { token: A });
    assert.equal(resume.status, 200, resume.text);
    assert.equal((resume.body as JobJson).collection, "a-pending");
    assert.ok(!resume.text.includes("~"));
  });

  void it("DELETE /v1/collections/:c/documents/:id: another tenant's collection or document is 404 and stays", async () => {
    assert.deepEqual(
      (await s.call("DELETE", "/v1/collections/a-only/documents/a2", { token: B })).body,
      notFound("COLLECTION_NOT_FOUND", 'collection "a-only" does not exist; collections: shared'),
    );
    assert.deepEqual(
      (await s.call("DELETE", "/v1/collections/shared/documents/a1", { token: B })).body,
      notFound("DOCUMENT_NOT_FOUND", 'document "a1" is not in collection "shared"'),
    );
    assert.equal((await s.call("DELETE", "/v1/collections/legacy/documents/l1", { token: A })).status, 404);
    assert.deepEqual((await query(A, "shared", "alpha apples")).ids, ["a1"]);
    assert.deepEqual((await query(A, "a-only", "alpha secrets")).ids, ["a2"]);
    assert.deepEqual((await query(D, "legacy", "lore")).ids, ["l1"]);
  });

  void it("POST /v1/collections/:c/documents and POST /v1/jobs write into the caller's own collection", async () => {
    const jobB = await upload(B, "a-only", [{ id: "b-intruder", text: "alpha secrets overwritten" }]);
    await s.sluice.runJob(jobB);
    assert.deepEqual(
      (await query(A, "a-only", "alpha secrets overwritten")).ids,
      ["a2"],
      "A's collection is untouched",
    );
    assert.deepEqual((await query(B, "a-only", "alpha secrets overwritten")).ids, ["b-intruder"]);

    await mkdir(join(s.dir, "docs"), { recursive: true });
    await writeFile(join(s.dir, "docs", "note.txt"), "gamma notes from the server disk");
    const created = await s.call("POST", "/v1/jobs", { token: B, body: { collection: "a-only", paths: ["docs"] } });
    assert.equal(created.status, 202, created.text);
    const { jobId } = created.body as { jobId: string };
    await s.sluice.runJob(jobId);
    const mine = await s.call("GET", `/v1/jobs/${jobId}`, { token: B });
    assert.equal((mine.body as JobJson).collection, "a-only");
    assert.equal((mine.body as JobJson).state, "COMPLETED");
    assert.equal((await s.call("GET", `/v1/jobs/${jobId}`, { token: A })).status, 404);
    assert.deepEqual((await query(A, "a-only", "gamma notes")).ids, []);
    assert.deepEqual((await query(B, "a-only", "gamma notes")).ids, ["note.txt"]);
  });

  void it("the owner can delete its own document", async () => {
    assert.equal((await s.call("DELETE", "/v1/collections/a-only/documents/a2", { token: A })).status, 204);
    assert.deepEqual((await s.call("GET", "/v1/collections/a-only", { token: A })).body, {
      name: "a-only",
      documents: 0,
      chunks: 0,
      pending: 0,
    });
    assert.deepEqual(
      (await query(B, "a-only", "alpha secrets overwritten")).ids,
      ["b-intruder"],
      "B's a-only is another collection",
    );
  });

  void it("/v1/spool* needs admin; an admin sees the process-wide spool, whatever its tenant", async () => {
    for (const [method, path] of [
      ["GET", "/v1/spool"],
      ["GET", "/v1/spool/dlq"],
      ["POST", "/v1/spool/dlq/1/retry"],
      ["DELETE", "/v1/spool/dlq/1"],
    ] as const) {
      assert.equal((await s.call(method, path, { token: B })).status, 403, `${method} ${path}`);
    }
    const stats = await s.call("GET", "/v1/spool", { token: adminB });
    assert.equal(stats.status, 200, stats.text);
    assert.equal((await s.call("GET", "/v1/spool/dlq", { token: adminB })).status, 200);
  });

  void it("x-sluice-tenant picks the tenant of internal callers only; a JWT's tenant cannot be overridden", async () => {
    const internalA = { "x-sluice-internal": INTERNAL, "x-sluice-tenant": "tenant-a" };
    assert.deepEqual((await s.call("GET", "/v1/collections/shared", { headers: internalA })).body, {
      name: "shared",
      documents: 1,
      chunks: 1,
      pending: 0,
    });
    assert.equal((await s.call("GET", `/v1/jobs/${jobA1}`, { headers: internalA })).status, 200);
    assert.equal(
      (await s.call("GET", `/v1/jobs/${jobA1}`, { headers: { "x-sluice-internal": INTERNAL } })).status,
      404,
      "no header: tenant default",
    );
    assert.deepEqual(
      (await s.call("GET", "/v1/collections/legacy", { headers: { "x-sluice-internal": INTERNAL } })).body,
      { name: "legacy", documents: 1, chunks: 1, pending: 0 },
    );
    const spoofed = await s.call("GET", "/v1/collections/a-only", {
      token: D,
      headers: { "x-sluice-tenant": "tenant-a" },
    });
    assert.equal(spoofed.status, 404);
  });
});

void describe("tenancy with auth off (the embedded default)", () => {
  let s: LiveServer;
  before(async () => {
    s = await startServer({});
  });
  after(async () => s.close());

  void it("every request is tenant default: plain collection names, as before", async () => {
    const res = await s.call("POST", "/v1/collections/notes/documents", {
      body: { documents: [{ id: "n", text: "plain" }] },
      headers: { "x-sluice-tenant": "tenant-a" },
    });
    assert.equal(res.status, 202, res.text);
    await s.sluice.runJob((res.body as { jobId: string }).jobId);
    assert.deepEqual(
      (await s.sluice.store.listCollections()).map((c) => c.name),
      ["notes"],
    );
    assert.deepEqual((await s.call("GET", "/v1/collections/notes")).body, {
      name: "notes",
      documents: 1,
      chunks: 1,
      pending: 0,
    });
  });
});
