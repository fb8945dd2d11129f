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

/** A test app that runs its jobs, listening on a free port (the SSE tests need real HTTP). */
async function listening(): Promise<{ t: TestApp; base: string }> {
  const t = await openTestApp({ runJobs: true, console: false });
  return { t, base: await t.app.listen({ port: 0, host: "127.0.0.1" }) };
}

void describe("GET /v1/events (Server-Sent Events)", () => {
  let t: TestApp;
  let base: string;
  before(async () => ({ t, base } = await listening()));
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
  before(async () => ({ t, base } = await listening()));
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

  void it("summarises a job's stages and gives the pipeline snapshot it runs", async () => {
    const id = await ingest(t, base, "delta", 4);
    const res = await fetch(`${base}/v1/jobs/${id}/stages`);
    assert.equal(res.status, 200);
    const { stages } = (await res.json()) as {
      stages: Array<{
        stage: string;
        documents: number;
        completed: number;
        failed: number;
        p50Ms: number | null;
        p95Ms: number | null;
      }>;
    };
    const names = stages.map((s) => s.stage);
    for (const stage of ["parse", "chunk", "index"]) assert.ok(names.includes(stage), names.join());
    for (const s of stages) {
      assert.equal(s.documents, 4, s.stage);
      assert.equal(s.failed, 0);
      assert.ok(s.p50Ms !== null && s.p95Ms !== null && s.p50Ms <= s.p95Ms, JSON.stringify(s));
    }
    const pipeline = (await (await fetch(`${base}/v1/jobs/${id}/pipeline`)).json()) as {
      version: string;
      yaml: string;
      valid: boolean;
      nodes: Array<{ name: string }>;
    };
    const job = (await (await fetch(`${base}/v1/jobs/${id}?limit=0`)).json()) as Job;
    assert.equal(pipeline.version, job.pipelineVersion);
    assert.equal(pipeline.valid, true);
    assert.match(pipeline.yaml, /^version: 1/m);
    assert.ok(pipeline.nodes.some((n) => n.name === "parse"));
    assert.equal((await fetch(`${base}/v1/jobs/nope/stages`)).status, 404);
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

interface PipelineViewBody {
  name: string;
  kind: string | null;
  valid: boolean;
  error: { code: string; message: string; node: string | null } | null;
  nodes: Array<{ name: string; type: string; policy: string | null; inputs: Array<{ port: string; type: string }> }>;
  edges: Array<{ from: string; to: string; fromPort: string; toPort: string; type: string | null }>;
}

void describe("GET /v1/pipelines and POST /v1/pipelines/validate", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp({ console: false });
  });
  after(async () => t.close());

  void it("draws every shipped pipeline as typed nodes and edges with their policies", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/pipelines" });
    assert.equal(res.statusCode, 200);
    const { pipelines } = res.json<{ pipelines: PipelineViewBody[] }>();
    const names = pipelines.map((p) => p.name);
    for (const name of ["auto", "hybrid-sparse", "pdf-two-phase", "query"])
      assert.ok(names.includes(name), names.join());
    for (const p of pipelines) assert.equal(p.valid, true, `${p.name}: ${p.error?.message}`);
    const auto = pipelines.find((p) => p.name === "auto")!;
    assert.equal(auto.kind, "ingest");
    assert.equal(pipelines.find((p) => p.name === "query")!.kind, "query");
    const parse = auto.nodes.find((n) => n.name === "parse")!;
    assert.equal(parse.type, "parse.auto");
    assert.equal(parse.policy, "parse");
    const intoParse = auto.edges.find((e) => e.to === "parse")!;
    assert.equal(intoParse.from, "load");
    assert.ok(intoParse.type && intoParse.type.length > 0, "an edge carries its port type");
    assert.ok(auto.edges.every((e) => e.type !== null));
  });

  void it("shows a pipeline that does not build with its error against the node", async () => {
    const yaml = [
      "version: 1",
      "name: mine",
      "inputs: [load.ref]",
      "nodes:",
      "  - name: load",
      "    type: source.load",
      "  - name: parse",
      "    type: parse.nope",
      "connections:",
      "  - sender: load.document",
      "    receiver: parse.document",
    ].join("\n");
    const res = await t.app.inject({ method: "POST", url: "/v1/pipelines/validate", payload: { yaml } });
    assert.equal(res.statusCode, 200);
    const view = res.json<PipelineViewBody>();
    assert.equal(view.valid, false);
    assert.equal(view.error?.code, "UNKNOWN_STAGE");
    assert.equal(view.error?.node, "parse");
    assert.match(view.error?.message ?? "", /parse\.nope/);
    assert.deepEqual(
      view.nodes.map((n) => n.name),
      ["load", "parse"],
    );
    assert.deepEqual(
      view.edges.map((e) => [e.from, e.to, e.type]),
      [["load", "parse", null]],
    );
  });

  void it("answers YAML that does not parse with the reason and no nodes, and a missing body with 400", async () => {
    const bad = await t.app.inject({ method: "POST", url: "/v1/pipelines/validate", payload: { yaml: "nodes: [" } });
    const view = bad.json<PipelineViewBody>();
    assert.equal(view.valid, false);
    assert.match(view.error!.message, /invalid YAML/);
    assert.deepEqual(view.nodes, []);
    const empty = await t.app.inject({ method: "POST", url: "/v1/pipelines/validate", payload: {} });
    assert.equal(empty.statusCode, 400);
    assert.match(empty.json<{ message: string }>().message, /yaml/);
  });
});

void describe("collections: list, documents, chunks, and a query's per-list scores", () => {
  let t: TestApp;
  let base: string;
  before(async () => {
    ({ t, base } = await listening());
    await ingest(t, base, "rivers", 12);
    await ingest(t, base, "lakes", 2);
  });
  after(async () => t.close());

  void it("lists the collections with their counts", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/collections" });
    assert.deepEqual(res.json(), {
      collections: [
        { name: "lakes", documents: 2, chunks: 2 },
        { name: "rivers", documents: 12, chunks: 12 },
      ],
    });
  });

  void it("pages a collection's documents in id order and finds them by id", async () => {
    type Page = { total: number; documents: Array<{ docId: string; chunks: number; mediaType: string }> };
    const first = (await t.app.inject({ method: "GET", url: "/v1/collections/rivers/documents?limit=5" })).json<Page>();
    assert.equal(first.total, 12);
    assert.deepEqual(
      first.documents.map((d) => d.docId),
      ["rivers-0", "rivers-1", "rivers-10", "rivers-11", "rivers-2"],
    );
    const next = (
      await t.app.inject({ method: "GET", url: "/v1/collections/rivers/documents?limit=5&offset=10" })
    ).json<Page>();
    assert.deepEqual(
      next.documents.map((d) => d.docId),
      ["rivers-8", "rivers-9"],
    );
    const found = (
      await t.app.inject({ method: "GET", url: "/v1/collections/rivers/documents?contains=S-1" })
    ).json<Page>();
    assert.deepEqual(
      found.documents.map((d) => d.docId),
      ["rivers-1", "rivers-10", "rivers-11"],
    );
    const missing = await t.app.inject({ method: "GET", url: "/v1/collections/nope/documents" });
    assert.equal(missing.statusCode, 404);
    assert.equal(missing.json<{ code: string }>().code, "COLLECTION_NOT_FOUND");
  });

  void it("gives a document's chunks as indexed, and 404 for a document not there", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/collections/rivers/documents/rivers-3/chunks" });
    assert.equal(res.statusCode, 200);
    const body = res.json<{ docId: string; chunks: Array<{ ordinal: number; text: string }> }>();
    assert.equal(body.docId, "rivers-3");
    assert.deepEqual(
      body.chunks.map((c) => [c.ordinal, c.text]),
      [[0, "document 3 about rivers"]],
    );
    const none = await t.app.inject({ method: "GET", url: "/v1/collections/rivers/documents/nope/chunks" });
    assert.equal(none.statusCode, 404);
    assert.equal(none.json<{ code: string }>().code, "DOCUMENT_NOT_FOUND");
  });

  void it("explains a hybrid query with each result's score per list, and honours the query's weights", async () => {
    type Res = { results: Array<{ chunkId: string; score: number; scores?: Record<string, number> }> };
    const query = { collection: "rivers", query: "document 7 rivers", k: 5, answer: false };
    const plain = (await t.app.inject({ method: "POST", url: "/v1/query", payload: query })).json<Res>();
    assert.ok(
      plain.results.every((r) => r.scores === undefined),
      "no scores unless asked",
    );
    const hybrid = (
      await t.app.inject({ method: "POST", url: "/v1/query", payload: { ...query, explain: true } })
    ).json<Res>();
    assert.equal(hybrid.results.length, 5);
    for (const r of hybrid.results) {
      assert.equal(r.scores!["fused"], r.score);
      assert.ok(r.scores!["lexical"] !== undefined || r.scores!["dense"] !== undefined, JSON.stringify(r.scores));
    }
    assert.ok(hybrid.results.some((r) => r.scores!["lexical"] !== undefined && r.scores!["dense"] !== undefined));
    const noDense = (
      await t.app.inject({
        method: "POST",
        url: "/v1/query",
        payload: { ...query, explain: true, weights: { dense: 0 } },
      })
    ).json<Res>();
    assert.ok(
      noDense.results.every((r) => r.scores!["dense"] === undefined),
      "a weight of 0 leaves the list out",
    );
    const lexical = (
      await t.app.inject({ method: "POST", url: "/v1/query", payload: { ...query, explain: true, mode: "lexical" } })
    ).json<Res>();
    for (const r of lexical.results) assert.deepEqual(r.scores, { lexical: r.score });
    const bad = await t.app.inject({ method: "POST", url: "/v1/query", payload: { ...query, weights: { dense: -1 } } });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json<{ message: string }>().message, /weights\.dense/);
  });
});

void describe("collections are the caller's tenant's only", () => {
  const secret = "console-api-tenancy-secret-0123456789abcdef";
  let t: TestApp;
  before(async () => {
    t = await openTestApp({ auth: { jwtSecret: secret }, runJobs: true, console: false });
  });
  after(async () => t.close());

  void it("lists another tenant's collection for nobody else", async () => {
    const { hsToken } = await import("./helpers/auth-server.ts");
    const ann = await hsToken(secret, { sub: "ann", tenant: "acme", scope: "ingest query" });
    const bob = await hsToken(secret, { sub: "bob", tenant: "globex", scope: "ingest query" });
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/collections/secret/documents",
      headers: { authorization: `Bearer ${ann}` },
      payload: { documents: [{ id: "a", text: "acme only" }] },
    });
    assert.equal(res.statusCode, 202);
    const { jobId } = res.json<{ jobId: string }>();
    await eventually(async () => (await t.sluice.getJob(jobId)).state === "COMPLETED", "the job", 30_000, 50);
    const list = (who: string) =>
      t.app.inject({ method: "GET", url: "/v1/collections", headers: { authorization: `Bearer ${who}` } });
    assert.deepEqual((await list(ann)).json(), { collections: [{ name: "secret", documents: 1, chunks: 1 }] });
    assert.deepEqual((await list(bob)).json(), { collections: [] });
    const peek = await t.app.inject({
      method: "GET",
      url: "/v1/collections/secret/documents",
      headers: { authorization: `Bearer ${bob}` },
    });
    assert.equal(peek.statusCode, 404);
  });
});

void describe("GET /v1/models", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp({ console: false });
  });
  after(async () => t.close());

  void it("shows the in-process models: each service, its model id, loaded on first use", async () => {
    const res = await t.app.inject({ method: "GET", url: "/v1/models" });
    assert.equal(res.statusCode, 200);
    const status = res.json<{
      mode: string;
      services: Array<{ service: string; model: string; health: string; dimensions?: number }>;
    }>();
    assert.equal(status.mode, "in-process");
    assert.deepEqual(
      status.services.map((s) => s.service),
      ["embed", "sparse", "rerank", "ocr"],
    );
    const embed = status.services[0]!;
    assert.equal(embed.model, t.sluice.models.embedder().id);
    assert.equal(embed.dimensions, 64);
    assert.ok(status.services.every((s) => s.health === "IN_PROCESS"));
  });
});
