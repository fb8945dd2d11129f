import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { openTestApp, type TestApp } from "../test-app.fixture.ts";
import { listedRoutes, routePolicy } from "./route-scopes.ts";

interface OpenApi {
  paths: Record<string, Record<string, { security?: unknown; responses: Record<string, unknown> }>>;
}

void describe("route scope table", () => {
  let t: TestApp;
  before(async () => {
    t = await openTestApp({ auth: { jwtSecret: "route-scopes-test-secret-0123456789abcdef" } });
  });
  after(async () => t.close());

  void it("names every documented route (spool by prefix), so none falls to the admin default by accident", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json<OpenApi>();
    const listed = new Set(listedRoutes());
    for (const [path, ops] of Object.entries(doc.paths)) {
      const url = path.replace(/\{(\w+)\}/g, ":$1");
      for (const method of Object.keys(ops)) {
        const key = `${method.toUpperCase()} ${url}`;
        assert.ok(listed.has(key) || url.startsWith("/v1/spool"), `${key} has no entry in route-scopes.ts`);
      }
    }
  });

  void it("gives each route the scopes the API promises", () => {
    assert.deepEqual(routePolicy("GET", "/health/ready"), { public: true });
    assert.deepEqual(routePolicy("HEAD", "/openapi.json"), { public: true });
    assert.deepEqual(routePolicy("POST", "/v1/collections/:c/documents"), { public: false, anyOf: ["ingest"] });
    assert.deepEqual(routePolicy("GET", "/v1/jobs/:id"), { public: false, anyOf: ["ingest", "query"] });
    assert.deepEqual(routePolicy("POST", "/v1/query"), { public: false, anyOf: ["query"] });
    assert.deepEqual(routePolicy("DELETE", "/v1/spool/dlq/:seq"), { public: false, anyOf: ["admin"] });
    assert.deepEqual(routePolicy("GET", "/metrics"), { public: false, anyOf: ["admin"] });
    assert.deepEqual(routePolicy("PUT", "/v1/something-new"), { public: false, anyOf: ["admin"] });
  });

  void it("documents the bearer scheme and 401/403 on protected routes only", async () => {
    const doc = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json<
      OpenApi & { components: { securitySchemes: Record<string, unknown> } }
    >();
    assert.deepEqual(doc.components.securitySchemes["bearerAuth"], {
      type: "http",
      scheme: "bearer",
      bearerFormat: "JWT",
    });
    const query = doc.paths["/v1/query"]!["post"]!;
    assert.deepEqual(query.security, [{ bearerAuth: [] }]);
    assert.ok(query.responses["401"] && query.responses["403"]);
    assert.equal(doc.paths["/health"]!["get"]!.security, undefined);
  });
});
