import assert from "node:assert/strict";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildApp } from "../src/api/app.ts";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { json, runCli, startCli } from "./helpers/cli.ts";
import { eventually } from "./helpers/eventually.ts";
import { replaySkipReason, startReplayServer, type ReplayServer } from "./helpers/replay-server.ts";

const STUDIES = "/clinicaltrials.gov/api/v2/studies";
/** The recorded ClinicalTrials.gov search: two pages of five studies. */
const SEARCH = { type: "clinicaltrials", params: { "query.cond": "Phelan-McDermid Syndrome" }, pageSize: 5 };

function sourcesConfig(server: ReplayServer) {
  return { clinicaltrials: { baseUrl: `${server.base("clinicaltrials.gov")}/api/v2`, perSecond: 1000 } };
}

const pageToken = (request: string) => new URL(request, "http://x").searchParams.get("pageToken");

describe("source runs against the recorded ClinicalTrials.gov API", { skip: replaySkipReason() }, () => {
  let server: ReplayServer;
  let dir: string;
  before(async () => {
    server = await startReplayServer();
    dir = mkdtempSync(join(tmpdir(), "sluice-source-run-"));
  });
  after(async () => {
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("indexes each study with its NCT id, saves the cursor, and the next run resumes there", async () => {
    const sluice = await Sluice.open({
      dataDir: join(dir, "engine"),
      config: parseConfig({ sources: sourcesConfig(server) }),
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
    try {
      const first = await sluice.submitSource({ collection: "trials", source: { ...SEARCH, limit: 10 } });
      assert.equal(first.fetched, 10);
      assert.equal(first.accepted.length, 10);
      assert.ok(first.accepted.every((id) => /^NCT\d{8}$/.test(id)));
      assert.notEqual(first.cursor, null, "the API has more: the next page's token is saved");
      assert.equal((await sluice.runJob(first.id)).state, "COMPLETED");
      assert.equal((await sluice.stats("trials")).documents, 10);
      const hits = await sluice.query({ collection: "trials", query: "Phelan-McDermid syndrome", mode: "lexical" });
      assert.match(hits.results[0]!.docId, /^NCT\d{8}$/);

      // The API's next page (not recorded): empty, and the last.
      server.script(STUDIES, [{ status: 200, body: '{"studies":[]}' }]);
      const before = server.requests.length;
      const second = await sluice.submitSource({ collection: "trials", source: SEARCH });
      assert.equal(second.resumedFrom, first.cursor);
      assert.equal(server.requests.length, before + 1, "one call: the page after the saved cursor");
      assert.equal(pageToken(server.requests.at(-1)!), first.cursor);
      assert.equal(second.fetched, 0);
      assert.equal(second.cursor, null, "the run reached the end");
    } finally {
      await sluice.close();
    }
  });

  it("a source run killed mid-way resumes from its cursor: every study indexed once, no page fetched twice but the one in flight", async () => {
    const work = join(dir, "cli");
    const config = join(dir, "cli.yaml");
    writeFileSync(
      config,
      JSON.stringify({ embedder: { backend: "hash", dimensions: 32 }, sources: sourcesConfig(server) }),
    );
    const args = [
      "--data",
      work,
      "--config",
      config,
      "--json",
      "ingest",
      "--collection",
      "trials",
      "--source",
      "clinicaltrials",
      "--param",
      "query.cond=Phelan-McDermid Syndrome",
      "--page-size",
      "5",
      "--limit",
      "10",
    ];
    const start = server.requests.length;
    // Page one answers at once; page two hangs until the run is killed.
    server.script(STUDIES, [{ recorded: true }, { recorded: true, delayMs: 120_000 }]);
    const child = startCli([...args, "--wait"]);
    await eventually(() => server.requests.length >= start + 2, "the killed run to ask for page two", 60_000);
    child.kill("SIGKILL");
    await once(child, "close");

    // The resumed run asks for page two again, then for page three (not recorded: the empty last page).
    server.script(STUDIES, [{ recorded: true }, { status: 200, body: '{"studies":[]}' }]);
    const resumed = await runCli(args);
    assert.equal(resumed.code, 0, `${resumed.stdout}\n${resumed.stderr}`);
    json(resumed);
    const tokens = server.requests.slice(start).map(pageToken);
    assert.equal(tokens.length, 4, `page one once, page two twice, then page three: ${tokens.join(" | ")}`);
    assert.equal(tokens[0], null);
    assert.ok(tokens[1] !== null && tokens[1] === tokens[2], "the resumed run asked for page two, not page one");
    assert.ok(tokens[3] !== null && tokens[3] !== tokens[2]);

    // The resumed run's worker indexes its page and the page the killed run had admitted.
    await eventually(
      async () => {
        const stats = json<{ documents: number; pending: number }>(
          await runCli(["--data", work, "--config", config, "--json", "stats", "--collection", "trials"]),
        );
        return stats.documents === 10 && stats.pending === 0;
      },
      "ten studies indexed and nothing pending",
      60_000,
    );
  });

  it("POST /v1/jobs with a source answers 202 once the records are admitted, and the job runs them", async () => {
    const sluice = await Sluice.open({
      dataDir: join(dir, "api"),
      config: parseConfig({ sources: sourcesConfig(server) }),
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
    const app = await buildApp(sluice, { auth: {} });
    try {
      const res = await app.inject({
        method: "POST",
        url: "/v1/jobs",
        payload: { collection: "trials", source: { ...SEARCH, limit: 5 } },
      });
      assert.equal(res.statusCode, 202, res.body);
      const { jobId } = res.json<{ jobId: string }>();
      const job = await sluice.runJob(jobId);
      assert.equal(job.state, "COMPLETED");
      assert.equal(job.done, 5);
      const bad = await app.inject({
        method: "POST",
        url: "/v1/jobs",
        payload: { collection: "trials", source: { type: "clinicaltrials", limit: 5 } },
      });
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(bad.json(), {
        statusCode: 400,
        code: "VALIDATION_FAILED",
        error: "Bad Request",
        message: "source: give a query, ids or params",
      });
    } finally {
      await app.close();
      await sluice.close();
    }
  });

  it("refuses an unknown source and a bad spec with clear errors, before any job exists", async () => {
    const sluice = await Sluice.open({
      dataDir: join(dir, "errors"),
      config: parseConfig({ sources: sourcesConfig(server) }),
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
    try {
      await assert.rejects(sluice.submitSource({ collection: "c", source: { type: "arxiv", query: "x" } }), {
        code: "UNKNOWN_SOURCE",
      });
      await assert.rejects(sluice.submitSource({ collection: "c", source: { type: "pmc" } }), {
        code: "VALIDATION_FAILED",
        message: /give a query, ids or params/,
      });
      await assert.rejects(sluice.submitSource({ collection: "c", source: { type: "unpaywall", ids: ["10.1/x"] } }), {
        code: "CONFIG_INVALID",
      });
      assert.equal((await sluice.listJobs()).length, 0);
    } finally {
      await sluice.close();
    }
  });
});
