import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { startCollector, type HttpCollector } from "../src/observability/http-collector.fixture.ts";
import { jobRunId } from "../src/observability/openlineage/openlineage-emitter.ts";
import type { OpenLineageFacet, OpenLineageRunEvent } from "../src/observability/openlineage/run-event.ts";
import { ROOT } from "./helpers/cli.ts";

const STAGES = ["load", "parse", "dedupe", "chunk", "embed", "index"];
const KEY_ENV = "SLUICE_TEST_LINEAGE_KEY";

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
const readJson = (path: string): Record<string, unknown> =>
  JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
ajv.addSchema(readJson(join(ROOT, "tests/fixtures/openlineage/OpenLineage.json")));
const facetDir = join(ROOT, "src/observability/openlineage/facets");
for (const f of readdirSync(facetDir)) ajv.addSchema(readJson(join(facetDir, f)));
const validateEvent = ajv.getSchema("https://openlineage.io/spec/2-0-2/OpenLineage.json") as ValidateFunction;

/** Every posted event is a valid 2-0-2 event; Sluice's own facets also match the schema their `_schemaURL` names. */
function assertValid(event: OpenLineageRunEvent): void {
  assert.ok(validateEvent(event), `${event.eventType} ${event.job.name}: ${ajv.errorsText(validateEvent.errors)}`);
  for (const [name, facet] of Object.entries(event.run.facets ?? {})) {
    if (!name.startsWith("sluice_")) continue;
    const validate = ajv.getSchema(facet._schemaURL);
    assert.ok(validate, `schema of ${name}: ${facet._schemaURL}`);
    assert.ok(validate(facet), `${name}: ${ajv.errorsText(validate.errors)}`);
  }
}

const dirs: string[] = [];
let collector: HttpCollector;
before(async () => {
  process.env[KEY_ENV] = "k-123";
  collector = await startCollector();
});
after(async () => {
  delete process.env[KEY_ENV];
  await collector.close();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

async function ingest(
  lineage: Record<string, unknown>,
  run: (sluice: Sluice, dir: string) => Promise<string[]>,
): Promise<{ jobIds: string[]; events: OpenLineageRunEvent[]; dataDir: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-ol-"));
  dirs.push(dir);
  const dataDir = join(dir, "data");
  collector.requests.length = 0;
  const sluice = await Sluice.open({
    dataDir,
    cwd: dir,
    config: parseConfig({ lineage }),
    embedder: new HashEmbedder({ dimensions: 16 }),
  });
  let jobIds: string[];
  try {
    jobIds = await run(sluice, dir);
  } finally {
    await sluice.close(); // flushes the lineage queue
  }
  const events = collector.requests.map((r) => JSON.parse(r.body) as OpenLineageRunEvent);
  return { jobIds, events, dataDir, dir };
}

const runsOf = (events: OpenLineageRunEvent[], parentRunId: string) => {
  const runs = new Map<string, OpenLineageRunEvent[]>();
  for (const e of events) {
    const parent = e.run.facets?.["parent"] as (OpenLineageFacet & { run: { runId: string } }) | undefined;
    if (parent?.run.runId === parentRunId) runs.set(e.run.runId, [...(runs.get(e.run.runId) ?? []), e]);
  }
  return runs;
};

describe("OpenLineage run events", () => {
  it("per job (START, RUNNING, COMPLETE) and per stage as child runs, valid against the 2-0-2 schema, with datasets and the model facet", async () => {
    const { jobIds, events, dataDir, dir } = await ingest(
      { url: collector.url, apiKeyEnv: KEY_ENV },
      async (sluice, dir) => {
        const inline = await sluice.submitDocuments({
          collection: "c",
          documents: [
            { id: "a", text: "Alpha document." },
            { id: "b", text: "Bravo document." },
            { id: "empty", text: "   " },
          ],
        });
        await sluice.runJob(inline.id);
        mkdirSync(join(dir, "docs"));
        writeFileSync(join(dir, "docs", "x.md"), "# X\n\nThe x file.");
        const files = await sluice.submitPaths({ collection: "files", paths: ["docs"] });
        await sluice.runJob(files.id);
        return [inline.id, files.id];
      },
    );
    for (const r of collector.requests) {
      assert.equal(r.method, "POST");
      assert.equal(r.url, "/api/v1/lineage", "the OpenLineage HTTP transport's endpoint");
      assert.equal(r.headers["authorization"], "Bearer k-123");
      assert.match(String(r.headers["content-type"]), /^application\/json/);
    }
    for (const e of events) assertValid(e);

    const [inlineId, filesId] = jobIds as [string, string];
    const output = { namespace: `sluice://${hostname()}${dataDir}`, name: "c" };
    const jobRun = events.filter((e) => e.run.runId === jobRunId(inlineId));
    assert.deepEqual(
      jobRun.map((e) => e.eventType),
      ["START", "RUNNING", "COMPLETE"],
    );
    for (const e of jobRun) {
      assert.deepEqual({ namespace: e.job.namespace, name: e.job.name }, { namespace: "sluice", name: "ingest.c" });
      assert.deepEqual(e.outputs, [output]);
      assert.deepEqual(e.inputs, [{ namespace: "sluice-upload", name: inlineId }]);
    }
    const complete = jobRun[2]!.run.facets!;
    assert.deepEqual(
      { id: complete["sluice_model"]!["id"], name: complete["sluice_model"]!["name"] },
      { id: "hash-16", name: "hash-16" },
    );
    assert.match(complete["sluice_model"]!._producer, /^https:\/\//);
    assert.match(complete["sluice_model"]!._schemaURL, /SluiceModelRunFacet\.json#\/\$defs\/SluiceModelRunFacet$/);
    assert.deepEqual(
      {
        state: complete["sluice_job"]!["state"],
        total: complete["sluice_job"]!["total"],
        done: complete["sluice_job"]!["done"],
        failed: complete["sluice_job"]!["failed"],
      },
      { state: "COMPLETED", total: 3, done: 2, failed: 1 },
    );

    const stageRuns = runsOf(events, jobRunId(inlineId));
    assert.deepEqual(
      [...stageRuns.values()].map((r) => r[0]!.job.name).sort(),
      STAGES.map((s) => `ingest.c.${s}`).sort(),
      "one child run per stage",
    );
    for (const run of stageRuns.values()) {
      assert.deepEqual(
        run.map((e) => e.eventType),
        ["START", "COMPLETE"],
        run[0]!.job.name,
      );
      const parent = run[0]!.run.facets!["parent"] as OpenLineageFacet & { job: { namespace: string; name: string } };
      assert.deepEqual(parent.job, { namespace: "sluice", name: "ingest.c" });
      assert.equal(
        parent._schemaURL,
        "https://openlineage.io/spec/facets/1-0-1/ParentRunFacet.json#/$defs/ParentRunFacet",
      );
    }
    const parse = [...stageRuns.values()].find((r) => r[0]!.job.name === "ingest.c.parse")!;
    assert.deepEqual(parse[1]!.run.facets!["sluice_stage"]!["documents"], {
      started: 3,
      completed: 2,
      failed: 1,
      skipped: 0,
    });
    const jobComplete = events.indexOf(jobRun[2]!);
    for (const run of stageRuns.values())
      assert.ok(events.indexOf(run[1]!) < jobComplete, "stage runs end before their job run");

    const filesStart = events.find((e) => e.run.runId === jobRunId(filesId) && e.eventType === "START")!;
    assert.deepEqual(filesStart.inputs, [{ namespace: `file://${hostname()}`, name: join(dir, "docs") }]);
    assert.deepEqual(filesStart.outputs, [{ namespace: `sluice://${hostname()}${dataDir}`, name: "files" }]);
  });

  it("a job whose every document fails: the job run and the failing stage's run FAIL, with an errorMessage facet", async () => {
    const { jobIds, events } = await ingest({ url: collector.url }, async (sluice) => {
      const job = await sluice.submitDocuments({
        collection: "bad",
        documents: [
          { id: "e1", text: " " },
          { id: "e2", text: "" },
        ],
      });
      await sluice.runJob(job.id);
      return [job.id];
    });
    for (const e of events) assertValid(e);
    const jobRun = events.filter((e) => e.run.runId === jobRunId(jobIds[0]!));
    assert.deepEqual(
      jobRun.map((e) => e.eventType),
      ["START", "RUNNING", "FAIL"],
    );
    assert.match(String(jobRun[2]!.run.facets!["errorMessage"]!["message"]), /every document failed/);
    const stages = new Map(
      [...runsOf(events, jobRunId(jobIds[0]!)).values()].map((r) => [r[0]!.job.name, r.map((e) => e.eventType)]),
    );
    assert.deepEqual(stages.get("ingest.bad.parse"), ["START", "FAIL"]);
    assert.deepEqual(stages.get("ingest.bad.load"), ["START", "COMPLETE"]);
    assert.equal(stages.has("ingest.bad.embed"), false, "stages no document reached have no run");
    const parseFail = [...runsOf(events, jobRunId(jobIds[0]!)).values()].find(
      (r) => r[0]!.job.name === "ingest.bad.parse",
    )![1]!;
    assert.match(String(parseFail.run.facets!["errorMessage"]!["message"]), /^DOCUMENT_EMPTY: /);
  });

  it("granularity document: a child run per stage of every document", async () => {
    const { jobIds, events } = await ingest({ url: collector.url, granularity: "document" }, async (sluice) => {
      const job = await sluice.submitDocuments({
        collection: "d",
        documents: [
          { id: "a", text: "Alpha." },
          { id: "b", text: "Bravo." },
        ],
      });
      await sluice.runJob(job.id);
      return [job.id];
    });
    for (const e of events) assertValid(e);
    const runs = [...runsOf(events, jobRunId(jobIds[0]!)).values()];
    assert.equal(runs.length, 2 * STAGES.length);
    for (const run of runs) {
      assert.deepEqual(
        run.map((e) => e.eventType),
        ["START", "COMPLETE"],
      );
      assert.ok(["a", "b"].includes(String(run[1]!.run.facets!["sluice_stage"]!["documentId"])));
    }
  });

  it("a collector that is down never blocks or fails ingestion: deliveries are counted as failed", async () => {
    const dead = await startCollector();
    await dead.close();
    const dir = mkdtempSync(join(tmpdir(), "sluice-ol-"));
    dirs.push(dir);
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      cwd: dir,
      config: parseConfig({ lineage: { url: dead.url, timeoutMs: 500 } }),
      embedder: new HashEmbedder({ dimensions: 16 }),
    });
    const job = await sluice.submitDocuments({ collection: "c", documents: [{ id: "a", text: "Alpha." }] });
    const done = await sluice.runJob(job.id);
    const started = Date.now();
    await sluice.close();
    assert.equal(done.state, "COMPLETED");
    assert.ok(Date.now() - started < 10_000, "close is bounded");
    const stats = sluice.events.stats().sinks["lineage"]!;
    assert.equal(stats.delivered, 0);
    assert.ok(stats.failed + stats.dropped > 0, JSON.stringify(stats));
  });
});
