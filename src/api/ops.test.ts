import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestApp, type TestApp } from "./test-app.fixture.ts";

interface OpenApiDoc {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        requestBody?: {
          content: Record<string, { schema: { required?: string[]; properties?: Record<string, unknown> } }>;
        };
        responses: Record<string, unknown>;
      }
    >
  >;
}

void describe("health, metrics and OpenAPI", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp();
  });
  after(async () => t.close());

  void it("/health and /health/live answer 200", async () => {
    for (const url of ["/health", "/health/live"]) {
      const res = await t.app.inject({ method: "GET", url });
      assert.equal(res.statusCode, 200);
      assert.deepEqual(res.json(), { status: "ok" });
    }
  });

  void it("/health/ready is 200 when the ledger and index answer", async () => {
    const res = await t.app.inject({ method: "GET", url: "/health/ready" });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: "ready", checks: { ledger: "ok", index: "ok" } });
  });

  void it("/metrics exposes http_requests_total by route template, the duration histogram and process metrics", async () => {
    await t.app.inject({ method: "GET", url: "/v1/jobs/job_x" });
    await t.app.inject({ method: "GET", url: "/nowhere/at/all" });
    const res = await t.app.inject({ method: "GET", url: "/metrics" });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers["content-type"]), /^text\/plain/);
    assert.match(res.body, /http_requests_total\{route="\/v1\/jobs\/:id",method="GET",status="404"\} 1/);
    assert.match(res.body, /http_requests_total\{route="unmatched",method="GET",status="404"\} 1/);
    assert.match(res.body, /http_requests_total\{route="\/health\/ready",method="GET",status="200"\} 1/);
    assert.match(
      res.body,
      /http_request_duration_seconds_bucket\{le="0.005",route="\/v1\/jobs\/:id",method="GET",status="404"\}/,
    );
    assert.match(res.body, /process_cpu_user_seconds_total/);
  });

  void it("/openapi.json documents the /v1 routes with schemas from the zod request schemas", async () => {
    const res = await t.app.inject({ method: "GET", url: "/openapi.json" });
    assert.equal(res.statusCode, 200);
    const doc = res.json<OpenApiDoc>();
    assert.match(doc.openapi, /^3\./);
    for (const path of [
      "/v1/query",
      "/v1/jobs",
      "/v1/jobs/{id}",
      "/v1/jobs/{id}/cancel",
      "/v1/jobs/{id}/resume",
      "/v1/collections/{c}",
      "/v1/collections/{c}/documents",
      "/v1/collections/{c}/documents/{id}",
      "/v1/collections/{c}/documents/{id}/chunks",
      "/v1/events",
      "/v1/pipelines",
      "/v1/models",
      "/health/ready",
      "/metrics",
    ]) {
      assert.ok(doc.paths[path], `missing ${path}`);
    }
    assert.equal(doc.paths["/openapi.json"], undefined);
    const query = doc.paths["/v1/query"]?.["post"];
    const schema = query?.requestBody?.content["application/json"]?.schema;
    assert.deepEqual(schema?.required, ["collection", "query"]);
    assert.deepEqual(Object.keys(schema?.properties ?? {}), [
      "collection",
      "query",
      "mode",
      "k",
      "answer",
      "rerank",
      "filter",
      "pipeline",
      "weights",
      "explain",
      "cursor",
    ]);
    assert.deepEqual(Object.keys(query?.responses ?? {}).sort(), ["200", "400", "404", "409", "503"]);
    const upload = doc.paths["/v1/collections/{c}/documents"]?.["post"]?.requestBody?.content ?? {};
    assert.deepEqual(Object.keys(upload).sort(), ["application/json", "multipart/form-data"]);
    assert.ok(doc.paths["/v1/jobs"]?.["post"]?.responses["202"]);
  });

  void it("/health/ready is 503 naming the failed check once the stores are closed", async () => {
    const t2 = await openTestApp();
    try {
      await t2.sluice.close();
      const res = await t2.app.inject({ method: "GET", url: "/health/ready" });
      assert.equal(res.statusCode, 503);
      const body = res.json<{ status: string; checks: Record<string, string> }>();
      assert.equal(body.status, "unavailable");
      assert.match(body.checks["ledger"] ?? "", /^failed/);
      assert.match(body.checks["index"] ?? "", /^failed/);
    } finally {
      await t2.close();
    }
  });
});
