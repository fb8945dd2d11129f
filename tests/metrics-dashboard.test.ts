import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/api/app.ts";
import { SluiceError } from "../src/contracts/errors.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import type { DenseEmbedder, EmbedOptions } from "../src/models/ports.ts";

const DASHBOARD = new URL("../deploy/grafana/sluice-dashboard.json", import.meta.url);

/** A hash embedder whose first call fails with a transient error: the embed stage retries once. */
class FlakyEmbedder implements DenseEmbedder {
  readonly inner = new HashEmbedder({ dimensions: 16 });
  readonly id = this.inner.id;
  readonly dimensions = this.inner.dimensions;
  #failed = false;
  async warmUp(): Promise<void> {}
  async embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    if (!this.#failed) {
      this.#failed = true;
      throw new SluiceError("MODEL_UNAVAILABLE", "test: the model blinked");
    }
    return this.inner.embed(texts, options);
  }
  async close(): Promise<void> {}
}

/** Names a scrape exports: every sample's name, and each histogram's _bucket/_sum/_count. */
function exportedNames(text: string): Set<string> {
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const type = /^# TYPE (\S+) (\S+)/.exec(line);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      names.add(name);
      if (kind === "histogram" || kind === "summary")
        for (const suffix of ["_bucket", "_sum", "_count"]) names.add(name + suffix);
    } else if (line && !line.startsWith("#")) names.add(line.split(/[{ ]/)[0]!);
  }
  return names;
}

const PROMQL_WORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);

/**
 * Metric names a PromQL expression reads: identifiers that are not functions, keywords, labels,
 * strings or durations.
 */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\b(?:\d+(?:ms|[smhdwy]))+\b/g, " ")
    .replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, " ");
  const names: string[] = [];
  for (const m of bare.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const after = bare.slice(m.index + m[0].length).trimStart();
    if (after.startsWith("(") || PROMQL_WORDS.has(m[0].toLowerCase())) continue;
    names.push(m[0]);
  }
  return names;
}

interface Target {
  expr: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { h: number; w: number; x: number; y: number };
  datasource?: { type?: string; uid?: string };
  targets?: Target[];
}
interface Dashboard {
  uid: string;
  title: string;
  schemaVersion: number;
  panels: Panel[];
  templating: { list: Array<{ name: string; type: string; query: unknown }> };
}

void describe("/metrics after an ingest with a failing document and queries", () => {
  let dir: string;
  let sluice: Sluice;
  let app: FastifyInstance;
  let text: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-metrics-"));
    await mkdir(join(dir, "docs"), { recursive: true });
    await writeFile(
      join(dir, "docs", "intro.md"),
      "# Intro\n\nSluice ingests documents and answers questions with citations.\n",
    );
    await writeFile(join(dir, "docs", "empty.txt"), "");
    sluice = await Sluice.open({ dataDir: join(dir, "data"), cwd: dir, embedder: new FlakyEmbedder() });
    app = await buildApp(sluice);
    const submitted = await app.inject({
      method: "POST",
      url: "/v1/jobs",
      payload: { collection: "m", paths: ["docs"] },
    });
    assert.equal(submitted.statusCode, 202, submitted.body);
    const { jobId } = submitted.json<{ jobId: string }>();
    const job = await sluice.runJob(jobId);
    assert.deepEqual([job.state, job.done, job.failed], ["COMPLETED", 1, 1]);
    assert.equal((await app.inject({ method: "GET", url: `/v1/jobs/${jobId}` })).statusCode, 200);
    for (const mode of ["lexical", "dense"]) {
      const q = await app.inject({
        method: "POST",
        url: "/v1/query",
        payload: { collection: "m", query: "answers with citations", mode, answer: false },
      });
      assert.equal(q.statusCode, 200, q.body);
    }
    const res = await app.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    text = res.body;
  });

  after(async () => {
    await app.close();
    await sluice.close();
    await rm(dir, { recursive: true, force: true });
  });

  const sample = (series: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} in /metrics`);
    return Number(line.slice(series.length + 1));
  };

  void it("HTTP requests by route pattern and status, with a latency histogram", () => {
    assert.equal(sample('http_requests_total{route="/v1/jobs",method="POST",status="202"}'), 1);
    assert.equal(sample('http_requests_total{route="/v1/jobs/:id",method="GET",status="200"}'), 1);
    assert.equal(sample('http_request_duration_seconds_count{route="/v1/query",method="POST",status="200"}'), 2);
    assert.doesNotMatch(text, /route="\/v1\/jobs\/job_/, "never the raw URL");
  });

  void it("stage failures by stage and code, retries by stage, stage durations", () => {
    assert.equal(sample('stage_failures_total{stage="load",code="DOCUMENT_EMPTY"}'), 1);
    assert.ok(sample('stage_retries_total{stage="embed"}') >= 1);
    assert.ok(sample('stage_duration_seconds_count{stage="index"}') >= 1);
  });

  void it("circuit breaker state by pipeline, policy and stage (0 = closed)", () => {
    assert.equal(sample('circuit_breaker_state{pipeline="auto",policy="model",stage="embed"}'), 0);
  });

  void it("query latency by mode", () => {
    assert.equal(sample('query_duration_seconds_count{mode="lexical"}'), 1);
    assert.equal(sample('query_duration_seconds_count{mode="dense"}'), 1);
  });

  void it("jobs by state, read from the ledger when scraped", () => {
    assert.equal(sample('ledger_jobs{state="COMPLETED"}'), 1);
    for (const state of ["PENDING", "PROCESSING", "FAILED", "CANCELLED"])
      assert.equal(sample(`ledger_jobs{state="${state}"}`), 0);
  });

  void it("the Grafana dashboard is a valid dashboard model whose every query reads only metrics the app exports", () => {
    const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as Dashboard;
    assert.equal(dashboard.uid, "sluice-overview");
    assert.ok(dashboard.schemaVersion >= 36);
    const datasource = dashboard.templating.list.find((v) => v.type === "datasource");
    assert.deepEqual([datasource?.name, datasource?.query], ["datasource", "prometheus"]);
    const ids = dashboard.panels.map((p) => p.id);
    assert.equal(new Set(ids).size, ids.length, "panel ids are unique");

    const exported = exportedNames(text);
    const queries: Array<{ where: string; expr: string }> = [];
    for (const panel of dashboard.panels) {
      assert.ok(panel.gridPos.w > 0 && panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title}: gridPos`);
      if (panel.type === "row") continue;
      assert.deepEqual(
        panel.datasource,
        { type: "prometheus", uid: "${datasource}" },
        `${panel.title}: uses the datasource variable`,
      );
      assert.ok(panel.targets && panel.targets.length > 0, `${panel.title}: has queries`);
      for (const t of panel.targets) queries.push({ where: panel.title, expr: t.expr });
    }
    for (const v of dashboard.templating.list) {
      const q = typeof v.query === "object" && v.query !== null ? (v.query as { query?: string }).query : undefined;
      const labelValues = q ? /^label_values\((\w+),\s*\w+\)$/.exec(q) : null;
      if (labelValues) queries.push({ where: `variable ${v.name}`, expr: labelValues[1]! });
    }
    const read = new Set<string>();
    for (const { where, expr } of queries) {
      const names = metricNames(expr);
      assert.ok(names.length > 0, `${where}: no metric in ${expr}`);
      for (const name of names) {
        assert.ok(exported.has(name), `${where}: ${name} is not exported by /metrics`);
        read.add(name);
      }
    }
    for (const name of [
      "http_requests_total",
      "http_request_duration_seconds_bucket",
      "stage_duration_seconds_bucket",
      "stage_failures_total",
      "stage_retries_total",
      "circuit_breaker_state",
      "query_duration_seconds_bucket",
      "ledger_jobs",
    ]) {
      assert.ok(read.has(name), `the dashboard charts ${name}`);
    }
  });

  void it("the PromQL reader skips functions, labels, keywords and durations", () => {
    assert.deepEqual(
      metricNames(
        'histogram_quantile(0.95, sum by (le, route) (rate(http_request_duration_seconds_bucket{job=~"$job"}[$__rate_interval])))',
      ),
      ["http_request_duration_seconds_bucket"],
    );
    assert.deepEqual(metricNames('sum(rate(a_total{status=~"5.."}[5m])) / on (x) group_left sum(b) offset 1h'), [
      "a_total",
      "b",
    ]);
  });
});
