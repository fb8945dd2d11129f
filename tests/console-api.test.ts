import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { brotliDecompressSync } from "node:zlib";
import { after, before, describe, it } from "node:test";
import { openTestApp, type TestApp } from "../src/api/test-app.fixture.ts";
import type { Job } from "../src/contracts/job.ts";
import { eventually } from "./helpers/eventually.ts";
import { openSse } from "./helpers/sse-reader.ts";

/** Ingests `n` small JSON documents into `collection` and waits for the job to end. */
async function ingest(t: TestApp, base: string, collection: string, n: number): Promise<string> {
  const documents = Array.from({ length: n }, (_, i) => ({
    id: `${collection}-${i}`,
    text: `document ${i} about rivers`,
  }));
  const res = await fetch(`${base}/v1/collections/${collection}/documents`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ documents }),
  });
  assert.equal(res.status, 202, await res.clone().text());
  const { jobId } = (await res.json()) as { jobId: string };
  await eventually(
    async () => ["COMPLETED", "FAILED"].includes((await t.sluice.getJob(jobId)).state),
    `job ${jobId} to end`,
    30_000,
    50,
  );
  return jobId;
}

void describe("GET /v1/events (Server-Sent Events)", () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await openTestApp({ runJobs: true, console: false });
    base = await t.app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(async () => t.close());

  void it("streams a job's lifecycle as CloudEvents, each frame with an id and its type as the event name", async () => {
    const sse = await openSse(`${base}/v1/events?type=job.*`);
    assert.equal(sse.status, 200);
    assert.match(sse.headers.get("content-type") ?? "", /^text\/event-stream/);
    const jobId = await ingest(t, base, "rivers", 3);
    await eventually(
      () => sse.frames.some((f) => f.event === "io.sluice.job.completed"),
      "job.completed on the stream",
    );
    sse.close();
    const mine = sse.frames.filter((f) => (JSON.parse(f.data) as { jobid: string }).jobid === jobId);
    assert.deepEqual(
      mine.map((f) => f.event),
      ["io.sluice.job.created", "io.sluice.job.started", "io.sluice.job.completed"],
    );
    for (const f of mine) {
      const ce = JSON.parse(f.data) as { specversion: string; type: string; data: { done?: number } };
      assert.equal(ce.specversion, "1.0");
      assert.equal(ce.type, f.event);
      assert.match(f.id ?? "", /^[0-9a-f]{8}-\d+$/);
    }
    assert.equal((JSON.parse(mine.at(-1)!.data) as { data: { done: number } }).data.done, 3);
    assert.ok(
      sse.frames.every((f) => f.event.startsWith("io.sluice.job.")),
      "the type filter lets only job events through",
    );
  });

  void it("filters by job", async () => {
    const sse = await openSse(`${base}/v1/events?job=nope`);
    const watched = await openSse(`${base}/v1/events?type=job.completed`);
    const other = await ingest(t, base, "other", 2);
    // The job's end reached a reader of every job, so it was published while the filtered one listened.
    await eventually(() => watched.frames.some((f) => f.data.includes(other)), "job.completed of the other job");
    sse.close();
    watched.close();
    assert.deepEqual(sse.frames, [], "no event of another job");
  });

  void it("resumes after Last-Event-ID with exactly the events missed, and says reset when it cannot", async () => {
    const first = await openSse(`${base}/v1/events`);
    const a = await ingest(t, base, "resume-a", 2);
    await eventually(
      () => first.frames.some((f) => f.event === "io.sluice.job.completed" && f.data.includes(a)),
      "job a's end",
    );
    first.close();
    const lastId = first.frames.at(-1)!.id!;
    // Published while no reader is connected:
    const b = await ingest(t, base, "resume-b", 2);
    const again = await openSse(`${base}/v1/events`, { "last-event-id": lastId });
    await eventually(
      () => again.frames.some((f) => f.event === "io.sluice.job.completed" && f.data.includes(b)),
      "job b's end, replayed",
    );
    again.close();
    const ids = again.frames.map((f) => Number(f.id!.split("-")[1]));
    assert.ok(ids[0]! === Number(lastId.split("-")[1]) + 1, "starts right after the last id seen");
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => x - y),
      "in order",
    );
    assert.equal(new Set(ids).size, ids.length, "none twice");
    assert.ok(
      again.frames.every((f) => !f.data.includes(`"jobid":"${a}"`)),
      "none of what the reader already had",
    );

    const stale = await openSse(`${base}/v1/events`, { "last-event-id": "deadbeef-5" });
    await eventually(() => stale.frames.length > 0, "a frame");
    stale.close();
    assert.equal(stale.frames[0]!.event, "io.sluice.stream.reset");
  });

  void it("rejects a bad query with a 400 that names it", async () => {
    const res = await fetch(`${base}/v1/events?bogus=1`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /bogus/);
  });
});

void describe("GET /v1/jobs", () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    t = await openTestApp({ runJobs: true, console: false });
    base = await t.app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(async () => t.close());

  void it("lists jobs newest first, filtered by state and collection, without documents", async () => {
    const one = await ingest(t, base, "alpha", 2);
    const two = await ingest(t, base, "beta", 1);
    const all = (await (await fetch(`${base}/v1/jobs`)).json()) as { jobs: Job[] };
    assert.deepEqual(
      all.jobs.map((j) => j.id),
      [two, one],
    );
    assert.equal(all.jobs[0]!.documents, undefined);
    assert.equal(all.jobs[1]!.done, 2);
    const alpha = (await (await fetch(`${base}/v1/jobs?collection=alpha`)).json()) as { jobs: Job[] };
    assert.deepEqual(
      alpha.jobs.map((j) => j.id),
      [one],
    );
    const failed = (await (await fetch(`${base}/v1/jobs?state=FAILED,CANCELLED`)).json()) as { jobs: Job[] };
    assert.deepEqual(failed.jobs, []);
    const limited = (await (await fetch(`${base}/v1/jobs?limit=1`)).json()) as { jobs: Job[] };
    assert.equal(limited.jobs.length, 1);
  });

  void it("answers a bad state with 400 naming the states", async () => {
    const res = await fetch(`${base}/v1/jobs?state=DONE`);
    assert.equal(res.status, 400);
    assert.match(((await res.json()) as { message: string }).message, /PENDING, PROCESSING, COMPLETED/);
  });

  void it("gives a document's stage records with stages=true", async () => {
    const id = await ingest(t, base, "gamma", 1);
    const job = (await (await fetch(`${base}/v1/jobs/${id}?stages=true`)).json()) as Job;
    const stages = job.documents![0]!.stages!;
    assert.ok(stages.length >= 3, JSON.stringify(stages));
    assert.ok(stages.every((s) => s.state === "COMPLETED" || s.state === "SKIPPED" || s.state === "REACHED"));
    const plain = (await (await fetch(`${base}/v1/jobs/${id}`)).json()) as Job;
    assert.equal(plain.documents![0]!.stages, undefined);
  });
});

void describe("the console's static files", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp();
  });
  after(async () => t.close());

  void it("serves / uncached and content-hashed assets immutable, brotli when accepted, 304 on a matching ETag", async () => {
    const page = await t.app.inject({ method: "GET", url: "/" });
    assert.equal(page.statusCode, 200, "the console is built by npm run build (pretest)");
    assert.match(page.headers["content-type"] as string, /^text\/html/);
    assert.equal(page.headers["cache-control"], "no-cache");
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(page.body)?.[1];
    assert.ok(script, page.body);
    const js = await t.app.inject({ method: "GET", url: script, headers: { "accept-encoding": "gzip, br" } });
    assert.equal(js.statusCode, 200);
    assert.equal(js.headers["cache-control"], "public, max-age=31536000, immutable");
    assert.equal(js.headers["content-encoding"], "br");
    assert.match(brotliDecompressSync(js.rawPayload).toString("utf8"), /sluice/i);
    const again = await t.app.inject({
      method: "GET",
      url: script,
      headers: { "if-none-match": js.headers["etag"] as string },
    });
    assert.equal(again.statusCode, 304);
    const missing = await t.app.inject({ method: "GET", url: "/assets/nope.js" });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ code: string }>().code, "NOT_FOUND");
  });

  void it("says how to build the console when it is not built", async () => {
    const empty = await mkdtemp(join(tmpdir(), "sluice-noconsole-"));
    const u = await openTestApp({ consoleDir: empty });
    try {
      const res = await u.app.inject({ method: "GET", url: "/" });
      assert.equal(res.statusCode, 503);
      assert.match(res.body, /npm run build/);
    } finally {
      await u.close();
      await rm(empty, { recursive: true, force: true });
    }
  });
});
