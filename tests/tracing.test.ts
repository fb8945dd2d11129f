import assert from "node:assert/strict";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { SpanKind } from "@opentelemetry/api";
import Database from "better-sqlite3";
import { InMemorySpanExporter, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import { buildApp } from "../src/api/app.ts";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { startTestModelServer, type TestModelServer } from "../src/model-server/test-server.fixture.ts";
import { createLogger } from "../src/observability/logger.ts";
import { startTracing, type Tracing } from "../src/observability/tracing.ts";

/** Every line a logger wrote, parsed. */
function captureLogs(): { lines: Array<Record<string, unknown>>; sink: Writable } {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString("utf8").split("\n"))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { lines, sink };
}

const traceOf = (s: ReadableSpan) => s.spanContext().traceId;
const idOf = (s: ReadableSpan) => s.spanContext().spanId;
const parentOf = (s: ReadableSpan) => s.parentSpanContext?.spanId;

void describe("OpenTelemetry traces and correlated logs (models.mode: remote)", () => {
  const exporter = new InMemorySpanExporter();
  const logs = captureLogs();
  let tracing: Tracing;
  let server: TestModelServer;
  let sluice: Sluice;
  let dir: string;

  before(async () => {
    tracing = await startTracing({}, { exporter });
    assert.equal(tracing.enabled, true);
    server = await startTestModelServer({ modelServer: { services: ["embed", "sparse"] } });
    dir = await mkdtemp(join(tmpdir(), "sluice-tracing-"));
    const config = parseConfig({
      models: { mode: "remote", remote: { address: server.server.address, timeoutMs: 10_000 } },
      ingest: { concurrency: 4 },
    });
    sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      cwd: dir,
      config,
      logger: createLogger({ level: "info", destination: logs.sink }),
    });
  });

  after(async () => {
    await sluice.close();
    await server.close();
    await tracing.shutdown();
    await rm(dir, { recursive: true, force: true });
  });

  void it("an ingest is one trace per document: gate → document → stages → model client → model server", async () => {
    exporter.reset();
    await mkdir(join(dir, "docs"), { recursive: true });
    await writeFile(
      join(dir, "docs", "a.md"),
      "# Resume\n\nTo resume a failed job run sluice jobs resume with its id.\n",
    );
    await writeFile(
      join(dir, "docs", "b.md"),
      "# Spool\n\nThe spool keeps every accepted document until it is indexed.\n",
    );
    await writeFile(join(dir, "docs", "empty.txt"), "");
    const job = await sluice.submitPaths({ collection: "traced", paths: ["docs"] });
    const done = await sluice.runJob(job.id);
    assert.deepEqual([done.done, done.failed], [2, 1]);
    const spans = exporter.getFinishedSpans();

    const gates = spans.filter((s) => s.name === "sluice.gate.admit");
    assert.equal(gates.length, 1);
    const gate = gates[0]!;
    assert.equal(gate.attributes["sluice.job_id"], job.id);
    assert.equal(gate.attributes["sluice.gate.accepted"], 3);

    for (const docId of ["a.md", "b.md", "empty.txt"]) {
      const docSpan = spans.find((s) => s.name === "sluice.document" && s.attributes["sluice.doc_id"] === docId);
      assert.ok(docSpan, `document span of ${docId}`);
      // The run continues the trace of the ingest that admitted it (the traceparent in the envelope).
      assert.equal(traceOf(docSpan), traceOf(gate));
      assert.equal(parentOf(docSpan), idOf(gate));
      const stages = spans.filter((s) => s.name.startsWith("stage ") && s.attributes["sluice.doc_id"] === docId);
      assert.ok(stages.length > 0);
      for (const s of stages) {
        assert.equal(traceOf(s), traceOf(gate), `${s.name} of ${docId} in the document's trace`);
        assert.equal(s.attributes["sluice.job_id"], job.id);
        assert.equal(typeof s.attributes["sluice.attempt"], "number");
        assert.equal(typeof s.attributes["sluice.outcome"], "string");
      }
      if (docId === "empty.txt") {
        const load = stages.find((s) => s.attributes["sluice.stage"] === "load")!;
        assert.equal(load.attributes["sluice.outcome"], "failed");
        assert.equal(load.attributes["sluice.error.code"], "DOCUMENT_EMPTY");
        continue;
      }
      assert.deepEqual(stages.map((s) => s.attributes["sluice.stage"]).sort(), [
        "chunk",
        "dedupe",
        "embed",
        "index",
        "load",
        "parse",
      ]);
      assert.ok(stages.every((s) => s.attributes["sluice.outcome"] === "completed" && parentOf(s) === idOf(docSpan)));
      // The embed stage's model call: a client span under the stage, and the server's span under it.
      const embedStage = stages.find((s) => s.attributes["sluice.stage"] === "embed")!;
      const clients = spans.filter((s) => s.kind === SpanKind.CLIENT && parentOf(s) === idOf(embedStage));
      assert.equal(clients.length, 1, `one Embed call for ${docId}`);
      const client = clients[0]!;
      assert.equal(client.name, "embed/Embed");
      assert.equal(client.attributes["rpc.method"], "Embed");
      const serverSpan = spans.find((s) => s.kind === SpanKind.SERVER && parentOf(s) === idOf(client));
      assert.ok(serverSpan, "the model server's span continues the client's");
      assert.equal(serverSpan.name, "Embed");
      assert.equal(traceOf(serverSpan), traceOf(client));
    }
    // The server logged the traceparent it received: the client span's.
    const embedLogs = server.logs.filter((l) => l["method"] === "Embed").map((l) => String(l["traceparent"]));
    const clientIds = new Set(
      spans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => `00-${traceOf(s)}-${idOf(s)}-01`),
    );
    assert.ok(embedLogs.length >= 2 && embedLogs.every((tp) => clientIds.has(tp)), embedLogs.join(" "));
  });

  void it("a stage failure is logged with correlation, job, document, tenant and trace ids", () => {
    const spans = exporter.getFinishedSpans();
    const load = spans.find(
      (s) => s.attributes["sluice.stage"] === "load" && s.attributes["sluice.doc_id"] === "empty.txt",
    )!;
    const line = logs.lines.find((l) => l["msg"] === "stage failed" && l["doc_id"] === "empty.txt");
    assert.ok(line, JSON.stringify(logs.lines));
    const jobId = String(load.attributes["sluice.job_id"]);
    assert.equal(line["job_id"], jobId);
    assert.equal(line["correlation_id"], jobId);
    assert.equal(line["tenant"], "default");
    assert.equal(line["stage"], "load");
    assert.equal(line["code"], "DOCUMENT_EMPTY");
    assert.equal(line["trace_id"], traceOf(load));
    assert.equal(line["span_id"], idOf(load));
    const failed = logs.lines.find((l) => l["msg"] === "document failed" && l["doc_id"] === "empty.txt");
    assert.equal(failed?.["job_id"], jobId);
  });

  void it("the traceparent stored in the envelope does not reach the indexed document's metadata", () => {
    const db = new Database(join(dir, "data", "index.db"), { readonly: true });
    try {
      const rows = db.prepare<[], { doc_id: string; meta: string }>("select doc_id, meta from documents").all();
      assert.deepEqual(rows.map((r) => r.doc_id).sort(), ["a.md", "b.md"]);
      for (const r of rows) assert.deepEqual(Object.keys(JSON.parse(r.meta) as object), []);
    } finally {
      db.close();
    }
  });

  void it("a query is a span with its mode, k and collection; its pipeline stages and query embedding join the trace", async () => {
    exporter.reset();
    const { results } = await sluice.query({
      collection: "traced",
      query: "how does the spool keep documents",
      mode: "dense",
      k: 2,
      answer: false,
    });
    assert.ok(results.length > 0);
    const spans = exporter.getFinishedSpans();
    const query = spans.find((s) => s.name === "sluice.query");
    assert.ok(query);
    assert.deepEqual(
      [
        query.attributes["sluice.query.mode"],
        query.attributes["sluice.query.k"],
        query.attributes["sluice.collection"],
      ],
      ["dense", 2, "traced"],
    );
    // The query pipeline's stages are the query span's children; the Embed call is the dense stage's.
    const dense = spans.find((s) => s.name === "stage dense" && parentOf(s) === idOf(query));
    assert.ok(dense, "the query pipeline's dense stage is the query span's child");
    const client = spans.find((s) => s.kind === SpanKind.CLIENT && parentOf(s) === idOf(dense));
    assert.ok(client, "the query's Embed call is the dense stage's child");
    assert.ok(spans.some((s) => s.kind === SpanKind.SERVER && traceOf(s) === traceOf(query)));
  });

  void it("HTTP: a request continues the caller's traceparent into its query, its gate and the documents it admitted; request logs carry it", async () => {
    exporter.reset();
    const app = await buildApp(sluice);
    try {
      const traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
      const traceparent = `00-${traceId}-00f067aa0ba902b7-01`;
      const q = await app.inject({
        method: "POST",
        url: "/v1/query",
        headers: { traceparent, "x-request-id": "req-42" },
        payload: { collection: "traced", query: "spool", mode: "lexical", answer: false },
      });
      assert.equal(q.statusCode, 200, q.body);
      const up = await app.inject({
        method: "POST",
        url: "/v1/collections/traced/documents",
        headers: { traceparent },
        payload: { documents: [{ id: "http-doc", text: "Uploaded over HTTP inside the caller's trace." }] },
      });
      assert.equal(up.statusCode, 202, up.body);
      await sluice.runJob(up.json<{ jobId: string }>().jobId);

      const spans = exporter.getFinishedSpans();
      const http = spans.filter((s) => s.kind === SpanKind.SERVER && s.attributes["http.route"] !== undefined);
      assert.deepEqual(http.map((s) => s.name).sort(), ["POST /v1/collections/:c/documents", "POST /v1/query"].sort());
      for (const s of http) {
        assert.equal(traceOf(s), traceId);
        assert.equal(parentOf(s), "00f067aa0ba902b7");
      }
      const queryHttp = http.find((s) => s.name === "POST /v1/query")!;
      assert.equal(queryHttp.attributes["http.response.status_code"], 200);
      assert.equal(parentOf(spans.find((s) => s.name === "sluice.query")!), idOf(queryHttp));
      const gate = spans.find((s) => s.name === "sluice.gate.admit")!;
      assert.equal(traceOf(gate), traceId);
      const docSpan = spans.find((s) => s.name === "sluice.document" && s.attributes["sluice.doc_id"] === "http-doc")!;
      assert.equal(traceOf(docSpan), traceId, "the document's run continues the request's trace");

      const completed = logs.lines.find((l) => l["msg"] === "request completed" && l["correlation_id"] === "req-42");
      assert.ok(completed, "request logs carry the request id as correlation_id");
      assert.equal(completed["trace_id"], traceId);
      assert.equal(completed["tenant"], "default");
    } finally {
      await app.close();
    }
  });
});
