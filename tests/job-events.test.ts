import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CloudEvent, HTTP } from "cloudevents";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { CLOUD_EVENT_TYPES, type SluiceCloudEvent } from "../src/observability/cloudevents.ts";
import { startCollector } from "../src/observability/http-collector.fixture.ts";
import { isTraceparent } from "../src/observability/trace-context.ts";

const STAGES = ["load", "parse", "dedupe", "chunk", "embed", "index"];
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function open(config: Record<string, unknown> = {}): Promise<{ sluice: Sluice; seen: SluiceCloudEvent[] }> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-jobev-"));
  dirs.push(dir);
  const sluice = await Sluice.open({
    dataDir: join(dir, "data"),
    cwd: dir,
    config: parseConfig(config),
    embedder: new HashEmbedder({ dimensions: 16 }),
  });
  const seen: SluiceCloudEvent[] = [];
  sluice.events.subscribe((ce) => seen.push(ce));
  return { sluice, seen };
}

const traceId = (ce: SluiceCloudEvent) => String(ce["traceparent"]).split("-")[1];

describe("job and stage lifecycle CloudEvents", () => {
  it("an ingest reports every stage of every document, and the job's created → started → completed, all valid, with tenant and traceparent", async () => {
    const { sluice, seen } = await open();
    let jobId = "";
    try {
      const job = await sluice.submitDocuments({
        collection: "c",
        documents: [
          { id: "a", text: "Alpha document." },
          { id: "b", text: "Bravo document." },
          { id: "empty", text: "   " },
        ],
      });
      jobId = job.id;
      await sluice.runJob(job.id);
    } finally {
      await sluice.close();
    }
    for (const ce of seen) {
      assert.equal(ce.validate(), true, ce.type);
      assert.equal(ce.specversion, "1.0");
      assert.ok(ce.type in CLOUD_EVENT_TYPES, `${ce.type} is a defined type`);
      assert.equal(ce["jobid"], jobId);
      assert.equal(ce["tenant"], "default");
      assert.equal(ce["collection"], "c");
      assert.match(String(ce["pipelineversion"]), /^auto@[0-9a-f]{12}$/);
      assert.ok(
        isTraceparent(String(ce["traceparent"])),
        `W3C traceparent on ${ce.type}: ${String(ce["traceparent"])}`,
      );
    }

    const jobEvents = seen.filter((e) => e.type.startsWith("io.sluice.job."));
    assert.deepEqual(
      jobEvents.map((e) => e.type),
      ["io.sluice.job.created", "io.sluice.job.started", "io.sluice.job.completed"],
    );
    for (const e of jobEvents) assert.equal(e.subject, jobId);
    assert.deepEqual(jobEvents[0]!.data?.["paths"], [], "inline documents: no paths");
    assert.deepEqual(
      {
        state: jobEvents[2]!.data?.["state"],
        total: jobEvents[2]!.data?.["total"],
        done: jobEvents[2]!.data?.["done"],
        failed: jobEvents[2]!.data?.["failed"],
      },
      { state: "COMPLETED", total: 3, done: 2, failed: 1 },
    );
    assert.equal(new Set(jobEvents.map(traceId)).size, 1, "job events share one trace");
    const first = seen.indexOf(jobEvents[1]!);
    const last = seen.indexOf(jobEvents[2]!);
    assert.ok(
      seen.slice(0, first).every((e) => !e.type.startsWith("io.sluice.stage.")),
      "no stage event before job.started",
    );
    assert.ok(
      seen.slice(last + 1).every((e) => !e.type.startsWith("io.sluice.stage.")),
      "no stage event after job.completed",
    );

    const byDoc = (id: string) => seen.filter((e) => e.subject === id);
    for (const id of ["a", "b"]) {
      const events = byDoc(id).map((e) => `${e.type.replace("io.sluice.", "")}:${String(e.data?.["stage"])}`);
      for (const stage of STAGES) {
        assert.ok(events.includes(`stage.started:${stage}`), `${id} ${stage} started`);
        assert.ok(events.includes(`stage.completed:${stage}`), `${id} ${stage} completed`);
      }
      assert.equal(new Set(byDoc(id).map(traceId)).size, 1, `${id}: every stage event in the document run's trace`);
    }
    const empty = byDoc("empty").map((e) => `${e.type.replace("io.sluice.", "")}:${String(e.data?.["stage"])}`);
    for (const started of empty.filter((e) => e.startsWith("stage.started:"))) {
      const stage = started.split(":")[1];
      assert.ok(
        empty.includes(`stage.completed:${stage}`) || empty.includes(`stage.failed:${stage}`),
        `empty ${stage} ended`,
      );
    }
    assert.ok(empty.includes("stage.failed:parse"));
    assert.notEqual(traceId(byDoc("a")[0]!), traceId(byDoc("b")[0]!), "one trace per document run");
  });

  it("a job with nothing to ingest is created and completed; a cancelled job reports job.cancelled", async () => {
    const { sluice, seen } = await open();
    try {
      const none = await sluice.submitDocuments({ collection: "c", documents: [] });
      const pending = await sluice.submitDocuments({ collection: "c", documents: [{ id: "x", text: "Xray." }] });
      const cancelled = await sluice.cancelJob(pending.id);
      assert.equal(cancelled.state, "CANCELLED");
      const types = (id: string) => seen.filter((e) => e.subject === id).map((e) => e.type);
      assert.deepEqual(types(none.id), ["io.sluice.job.created", "io.sluice.job.completed"]);
      assert.deepEqual(types(pending.id), ["io.sluice.job.created", "io.sluice.job.cancelled"]);
      for (const e of seen) assert.equal(e.validate(), true);
    } finally {
      await sluice.close();
    }
  });

  it("events.http in config delivers every event (structured mode) to the endpoint; each request parses back into a valid CloudEvent", async () => {
    const collector = await startCollector();
    const { sluice, seen } = await open({ events: { http: { url: `${collector.url}/ce`, mode: "structured" } } });
    try {
      const job = await sluice.submitDocuments({ collection: "c", documents: [{ id: "a", text: "Alpha document." }] });
      await sluice.runJob(job.id);
    } finally {
      await sluice.close(); // flushes the sink
      await collector.close();
    }
    assert.equal(collector.requests.length, seen.length);
    const delivered = collector.requests.map(
      (r) =>
        new CloudEvent<Record<string, unknown>>(
          HTTP.toEvent<Record<string, unknown>>({ headers: r.headers, body: r.body }) as CloudEvent<
            Record<string, unknown>
          >,
        ),
    );
    for (const ce of delivered) assert.equal(ce.validate(), true);
    assert.deepEqual(
      delivered.map((e) => e.id),
      seen.map((e) => e.id),
      "the same events, in order",
    );
  });
});
