import assert from "node:assert/strict";
import { mkdir, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { multipartBody, openTestApp, type TestApp } from "./test-app.fixture.ts";

interface JobJson {
  id: string;
  state: string;
  currentStage: string | null;
  total: number;
  done: number;
  failed: number;
  documents: Array<{ docId: string; state: string }>;
}

interface QueryJson {
  results: Array<{ docId: string; chunkId: string; score: number; text: string; source: string }>;
  answer?: { text: string; citations: Array<{ docId: string; quote: string }> };
}

const RESUME_DOC = {
  id: "guide/resume",
  title: "Resuming jobs",
  text: "To resume a failed job run sluice jobs resume with the job id; only documents that did not complete run again.",
};
const CATS_DOC = { id: "cats", text: "Cats sleep most of the day and hunt at dusk." };

async function postJson(app: FastifyInstance, url: string, payload: unknown) {
  return app.inject({ method: "POST", url, payload: payload as Record<string, unknown> });
}

async function query(app: FastifyInstance, body: Record<string, unknown>): Promise<QueryJson> {
  const res = await postJson(app, "/v1/query", body);
  assert.equal(res.statusCode, 200, res.body);
  return res.json<QueryJson>();
}

void describe("JSON upload → job → query", () => {
  let t: TestApp;
  let jobId: string;
  before(async () => {
    t = await openTestApp();
  });
  after(async () => t.close());

  void it("answers 202 with the job id and accepted ids once the documents are in the ledger", async () => {
    const res = await postJson(t.app, "/v1/collections/handbook/documents", { documents: [RESUME_DOC, CATS_DOC] });
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json<{ jobId: string; accepted: string[] }>();
    assert.deepEqual(Object.keys(body).sort(), ["accepted", "jobId"]);
    assert.deepEqual(body.accepted, ["guide/resume", "cats"]);
    assert.equal(res.headers["location"], `/v1/jobs/${body.jobId}`);
    jobId = body.jobId;
    // Durable before the answer: the ledger already lists both documents, and nothing ran.
    const job = await t.sluice.ledger.getJob(jobId, { documents: true });
    assert.equal(job.state, "PENDING");
    assert.deepEqual(
      job.documents?.map((d) => d.docId),
      ["guide/resume", "cats"],
    );
  });

  void it("GET /v1/jobs/:id shows the job COMPLETED with its documents after it ran", async () => {
    await t.sluice.runJob(jobId);
    const res = await t.app.inject({ method: "GET", url: `/v1/jobs/${jobId}` });
    assert.equal(res.statusCode, 200);
    const job = res.json<JobJson>();
    assert.equal(job.id, jobId);
    assert.equal(job.state, "COMPLETED");
    assert.equal(job.currentStage, null);
    assert.deepEqual([job.total, job.done, job.failed], [2, 2, 0]);
    assert.deepEqual(
      job.documents.map((d) => [d.docId, d.state]),
      [
        ["guide/resume", "COMPLETED"],
        ["cats", "COMPLETED"],
      ],
    );
  });

  void it("GET /v1/jobs/:id lists a page of the documents (?limit, ?offset); the counts cover all; a bad page is 400", async () => {
    const page = async (qs: string) => {
      const res = await t.app.inject({ method: "GET", url: `/v1/jobs/${jobId}${qs}` });
      assert.equal(res.statusCode, 200, res.body);
      const job = res.json<JobJson>();
      assert.deepEqual([job.total, job.done], [2, 2]);
      return job.documents.map((d) => d.docId);
    };
    assert.deepEqual(await page("?limit=1"), ["guide/resume"]);
    assert.deepEqual(await page("?limit=1&offset=1"), ["cats"]);
    assert.deepEqual(await page("?offset=2"), []);
    assert.deepEqual(await page("?limit=0"), []);
    const bad = await t.app.inject({ method: "GET", url: `/v1/jobs/${jobId}?limit=-1` });
    assert.equal(bad.statusCode, 400, bad.body);
    assert.match(bad.body, /limit/);
  });

  void it("POST /v1/query finds the document and cites it", async () => {
    const body = await query(t.app, { collection: "handbook", query: "how do I resume a failed job?", k: 5 });
    assert.equal(body.results[0]?.docId, "guide/resume");
    assert.equal(body.results[0]?.source, "upload:guide/resume");
    assert.ok(body.answer, "answer expected by default");
    assert.ok(body.answer.citations.length > 0);
    assert.equal(body.answer.citations[0]?.docId, "guide/resume");
    const lexical = await query(t.app, {
      collection: "handbook",
      query: "cats dusk",
      mode: "lexical",
      k: 1,
      answer: false,
    });
    assert.deepEqual(
      lexical.results.map((r) => r.docId),
      ["cats"],
    );
    assert.equal(lexical.answer, undefined);
    // A filter no document's metadata passes: nothing, rather than unfiltered results.
    const none = await query(t.app, { collection: "handbook", query: "cats dusk", filter: { lang: "xx" } });
    assert.deepEqual(none.results, []);
  });

  void it("GET /v1/collections/:c reports name, documents and chunks", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/collections/handbook" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { name: "handbook", documents: 2, chunks: 2, pending: 0 });
  });

  void it("DELETE removes the document from every index; a second delete is 404", async () => {
    const del = await t.app.inject({ method: "DELETE", url: "/v1/collections/handbook/documents/guide%2Fresume" });
    assert.equal(del.statusCode, 204);
    assert.equal(del.body, "");
    // The default pipeline keeps no sparse index (tests/cancel-reingest covers sparse deletes).
    for (const mode of ["hybrid", "lexical", "dense"]) {
      const body = await query(t.app, { collection: "handbook", query: "resume a failed job", mode });
      assert.ok(!body.results.some((r) => r.docId === "guide/resume"), `${mode} still returns the deleted document`);
    }
    const again = await t.app.inject({ method: "DELETE", url: "/v1/collections/handbook/documents/guide%2Fresume" });
    assert.deepEqual(again.json(), {
      statusCode: 404,
      code: "DOCUMENT_NOT_FOUND",
      error: "Not Found",
      message: 'document "guide/resume" is not in collection "handbook"',
    });
    const stats = await t.app.inject({ method: "GET", url: "/v1/collections/handbook" });
    assert.deepEqual(stats.json(), { name: "handbook", documents: 1, chunks: 1, pending: 0 });
  });

  void it("cancel and resume of a finished job are 409 JOB_STATE_CONFLICT", async () => {
    const cancel = await t.app.inject({ method: "POST", url: `/v1/jobs/${jobId}/cancel` });
    assert.equal(cancel.statusCode, 409);
    assert.deepEqual(cancel.json(), {
      statusCode: 409,
      code: "JOB_STATE_CONFLICT",
      error: "Conflict",
      message: `job "${jobId}" is already COMPLETED; only PENDING or PROCESSING jobs can be cancelled`,
    });
    const resume = await t.app.inject({
      method: "POST",
      url: `/v1/jobs/${jobId}/resume`,
      headers: { "content-type": "application/json" },
    });
    assert.equal(resume.statusCode, 409);
    assert.deepEqual(Object.keys(resume.json()).sort(), ["code", "error", "message", "statusCode"]);
    assert.equal(resume.json<{ code: string }>().code, "JOB_STATE_CONFLICT");
  });
});

void describe("jobs: cancel and resume", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp();
  });
  after(async () => t.close());

  void it("cancels a pending job, resumes it, and it then completes", async () => {
    const submitted = await postJson(t.app, "/v1/collections/c1/documents", { documents: [CATS_DOC] });
    const { jobId } = submitted.json<{ jobId: string }>();
    const cancel = await t.app.inject({ method: "POST", url: `/v1/jobs/${jobId}/cancel` });
    assert.equal(cancel.statusCode, 200, cancel.body);
    assert.equal(cancel.json<JobJson>().state, "CANCELLED");
    assert.equal(cancel.json<JobJson>().documents.length, 1);
    const resume = await t.app.inject({ method: "POST", url: `/v1/jobs/${jobId}/resume` });
    assert.equal(resume.statusCode, 200, resume.body);
    assert.equal(resume.json<JobJson>().state, "PENDING");
    await t.sluice.runJob(jobId);
    const job = await t.app.inject({ method: "GET", url: `/v1/jobs/${jobId}` });
    assert.equal(job.json<JobJson>().state, "COMPLETED");
  });

  void it("unknown job id is 404 JOB_NOT_FOUND", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/jobs/job_nope" });
    assert.deepEqual(res.json(), {
      statusCode: 404,
      code: "JOB_NOT_FOUND",
      error: "Not Found",
      message: 'job "job_nope" not found',
    });
  });
});

void describe("multipart upload", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp({ uploadLimit: 4096 });
  });
  after(async () => t.close());

  void it("stores .md and .txt files under dataDir/uploads, ids are the file names, and they become searchable", async () => {
    const { payload, headers } = await multipartBody([
      {
        name: "release-notes.md",
        content: "# Release notes\n\nThe **ledger** now survives power loss thanks to synchronous writes.\n",
      },
      { name: "dir/../faq.txt", content: "Question: which port does the server use? Answer: port 8080 by default.\n" },
    ]);
    const res = await t.app.inject({ method: "POST", url: "/v1/collections/notes/documents", payload, headers });
    assert.equal(res.statusCode, 202, res.body);
    const { jobId, accepted } = res.json<{ jobId: string; accepted: string[] }>();
    assert.deepEqual([...accepted].sort(), ["faq.txt", "release-notes.md"]);
    const uploads = await readdir(join(t.sluice.dataDir, "uploads"));
    assert.equal(uploads.length, 1);
    assert.deepEqual((await readdir(join(t.sluice.dataDir, "uploads", uploads[0]!))).sort(), [
      "faq.txt",
      "release-notes.md",
    ]);

    const done = await t.sluice.runJob(jobId);
    assert.equal(done.state, "COMPLETED");
    assert.equal(done.done, 2);
    const md = await query(t.app, { collection: "notes", query: "ledger power loss", mode: "lexical", k: 1 });
    assert.equal(md.results[0]?.docId, "release-notes.md");
    assert.ok(!md.results[0]?.text.includes("**"), "markdown was parsed to text");
    const txt = await query(t.app, { collection: "notes", query: "which port does the server use", k: 1 });
    assert.equal(txt.results[0]?.docId, "faq.txt");
  });

  void it("rejects a file over the upload limit with 413 and keeps nothing", async () => {
    const before = await readdir(join(t.sluice.dataDir, "uploads"));
    const { payload, headers } = await multipartBody([{ name: "big.txt", content: "x".repeat(10_000) }]);
    const res = await t.app.inject({ method: "POST", url: "/v1/collections/notes/documents", payload, headers });
    assert.deepEqual(res.json(), {
      statusCode: 413,
      code: "PAYLOAD_TOO_LARGE",
      error: "Payload Too Large",
      message: 'uploaded file "big.txt" is over the 4096-byte per-file upload limit',
    });
    assert.deepEqual(await readdir(join(t.sluice.dataDir, "uploads")), before);
  });

  void it("reports the first rejected file of several and keeps nothing from the request", async () => {
    const uploadsBefore = await readdir(join(t.sluice.dataDir, "uploads"));
    const exeFirst = await multipartBody([
      { name: "tool.exe", content: "MZ" },
      { name: "ok.md", content: "fine" },
      { name: "big.txt", content: "x".repeat(10_000) },
    ]);
    const r1 = await t.app.inject({ method: "POST", url: "/v1/collections/notes/documents", ...exeFirst });
    assert.equal(r1.statusCode, 415);
    assert.equal(r1.headers["connection"], "close");
    const bigSecond = await multipartBody([
      { name: "ok.md", content: "fine" },
      { name: "big.txt", content: "x".repeat(10_000) },
      { name: "tool.exe", content: "MZ" },
    ]);
    const r2 = await t.app.inject({ method: "POST", url: "/v1/collections/notes/documents", ...bigSecond });
    assert.equal(
      r2.json<{ message: string }>().message,
      'uploaded file "big.txt" is over the 4096-byte per-file upload limit',
    );
    assert.deepEqual(await readdir(join(t.sluice.dataDir, "uploads")), uploadsBefore);
  });

  void it("rejects unsupported extensions (415), duplicate names and uploads without files (400)", async () => {
    const exe = await multipartBody([{ name: "tool.exe", content: "MZ" }]);
    const r1 = await t.app.inject({ method: "POST", url: "/v1/collections/notes/documents", ...exe });
    assert.equal(r1.statusCode, 415);
    assert.equal(r1.json<{ code: string }>().code, "UNSUPPORTED_TYPE");
    assert.match(r1.json<{ message: string }>().message, /unsupported extension "\.exe"; supported: \.txt, \.md/);

    const dup = await multipartBody([
      { name: "a.md", content: "one" },
      { name: "x/a.md", content: "two" },
    ]);
    const r2 = await t.app.inject({ method: "POST", url: "/v1/collections/notes/documents", ...dup });
    assert.deepEqual(r2.json(), {
      statusCode: 400,
      code: "VALIDATION_FAILED",
      error: "Bad Request",
      message: 'two uploaded files are both named "a.md"; file names become document ids and must be unique',
    });

    const form = new FormData();
    form.append("note", "just a field");
    const req = new Request("http://localhost/", { method: "POST", body: form });
    const r3 = await t.app.inject({
      method: "POST",
      url: "/v1/collections/notes/documents",
      payload: Buffer.from(await req.arrayBuffer()),
      headers: { "content-type": req.headers.get("content-type") ?? "" },
    });
    assert.equal(r3.statusCode, 400);
    assert.equal(
      r3.json<{ message: string }>().message,
      "the multipart upload has no file parts; send each document as a file field",
    );
  });
});

void describe("POST /v1/jobs", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp();
  });
  after(async () => t.close());

  void it("records a job for paths on the server and it runs to COMPLETED", async () => {
    await mkdir(join(t.dir, "docs", "sub"), { recursive: true });
    await writeFile(
      join(t.dir, "docs", "intro.md"),
      "# Intro\n\nSluice ingests documents and answers questions with citations.\n",
    );
    await writeFile(
      join(t.dir, "docs", "sub", "limits.txt"),
      "Uploads are limited to one hundred megabytes per file.\n",
    );
    const res = await postJson(t.app, "/v1/jobs", { collection: "docs", paths: ["docs"] });
    assert.equal(res.statusCode, 202, res.body);
    const body = res.json<{ jobId: string }>();
    assert.deepEqual(Object.keys(body), ["jobId"]);
    await t.sluice.runJob(body.jobId);
    const job = (await t.app.inject({ method: "GET", url: `/v1/jobs/${body.jobId}` })).json<JobJson>();
    assert.equal(job.state, "COMPLETED");
    assert.deepEqual(job.documents.map((d) => d.docId).sort(), ["intro.md", "sub/limits.txt"]);
    const hits = await query(t.app, { collection: "docs", query: "upload limit megabytes", k: 1 });
    assert.equal(hits.results[0]?.docId, "sub/limits.txt");
  });

  void it("a missing path is 400 PATH_NOT_FOUND", async () => {
    const res = await postJson(t.app, "/v1/jobs", { collection: "docs", paths: ["nowhere"] });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json<{ code: string }>().code, "PATH_NOT_FOUND");
  });

  void it("a source of an unknown type is 400 UNKNOWN_SOURCE naming the sources there are", async () => {
    const res = await postJson(t.app, "/v1/jobs", { collection: "docs", source: { type: "s3", bucket: "b" } });
    assert.deepEqual(res.json(), {
      statusCode: 400,
      code: "UNKNOWN_SOURCE",
      error: "Bad Request",
      message: 'unknown source "s3"; sources: clinicaltrials, openalex, pmc, unpaywall',
    });
  });

  void it("needs exactly one of paths and source", async () => {
    for (const body of [{ collection: "docs" }, { collection: "docs", paths: ["docs"], source: { type: "s3" } }]) {
      const res = await postJson(t.app, "/v1/jobs", body);
      assert.deepEqual(res.json(), {
        statusCode: 400,
        code: "VALIDATION_FAILED",
        error: "Bad Request",
        message: 'invalid request: body: give exactly one of "paths" or "source"',
      });
    }
  });
});

void describe("runJobs option", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp({ runJobs: true });
    await t.app.ready();
  });
  after(async () => t.close());

  void it("runs submitted jobs in the background worker loop", async () => {
    const res = await postJson(t.app, "/v1/collections/bg/documents", { documents: [CATS_DOC] });
    const { jobId } = res.json<{ jobId: string }>();
    let state = "";
    for (let i = 0; i < 100 && state !== "COMPLETED"; i++) {
      state = (await t.app.inject({ method: "GET", url: `/v1/jobs/${jobId}` })).json<JobJson>().state;
      if (state !== "COMPLETED") await sleep(50);
    }
    assert.equal(state, "COMPLETED");
    const hits = await query(t.app, { collection: "bg", query: "cats hunt at dusk", k: 1 });
    assert.equal(hits.results[0]?.docId, "cats");
  });
});
