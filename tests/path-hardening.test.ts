import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { buildApp } from "../src/api/app.ts";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";

describe("paths in requests stay under the allowed ingest roots", () => {
  const base = mkdtempSync(join(tmpdir(), "sluice-roots-"));
  const root = join(base, "root");
  const outside = join(base, "outside.txt");
  let sluice: Sluice;
  let app: FastifyInstance;

  before(async () => {
    mkdirSync(join(root, "docs"), { recursive: true });
    writeFileSync(outside, "secret text that must never be ingested");
    writeFileSync(join(root, "docs", "ok.txt"), "a document the server may ingest");
    symlinkSync(outside, join(root, "docs", "sneaky.txt"));
    symlinkSync(outside, join(root, "link.txt"));
    sluice = await Sluice.open({
      dataDir: join(base, "data"),
      cwd: root,
      config: parseConfig({ ingest: { allowedRoots: ["."] } }),
      embedder: new HashEmbedder({ dimensions: 16 }),
    });
    app = await buildApp(sluice, { logger: false });
  });
  after(async () => {
    await app.close();
    await sluice.close();
  });

  const post = (paths: string[], pipeline?: string) =>
    app.inject({
      method: "POST",
      url: "/v1/jobs",
      payload: { collection: "c", paths, ...(pipeline ? { pipeline } : {}) },
    });

  for (const [label, path] of [
    ["a ../ escape", "../outside.txt"],
    ["an absolute path elsewhere", outside],
    ["a percent-encoded escape", "%2e%2e/outside.txt"],
    ["a NUL byte", "docs/ok.txt\u0000../../outside.txt"],
    ["a symlink that leads out", "link.txt"],
    ["a glob that starts outside", "../*.txt"],
  ] as const) {
    it(`refuses ${label} with 403`, async () => {
      const res = await post([path]);
      assert.equal(res.statusCode, 403, res.body);
      const body = res.json<{ statusCode: number; code: string; error: string; message: string }>();
      assert.deepEqual([body.statusCode, body.code, body.error], [403, "PATH_FORBIDDEN", "Forbidden"]);
      assert.match(body.message, /outside the allowed ingest roots/);
    });
  }

  it("refuses a pipeline file outside the roots", async () => {
    writeFileSync(join(base, "evil.yaml"), "version: 1\n");
    assert.equal((await post(["docs"], "../evil.yaml")).statusCode, 403);
  });

  it("ingests what is inside, and fails alone a file a symlink leads out to", async () => {
    const res = await post(["docs"]);
    assert.equal(res.statusCode, 202, res.body);
    const { jobId } = res.json<{ jobId: string }>();
    const job = await sluice.runJob(jobId);
    const detail = await sluice.ledger.getJob(job.id, { documents: true });
    const byId = new Map(detail.documents!.map((d) => [d.docId, d]));
    assert.equal(byId.get("ok.txt")?.state, "COMPLETED");
    assert.equal(byId.get("docs/sneaky.txt")?.error?.code, "PATH_FORBIDDEN");
    const hits = await sluice.query({ collection: "c", query: "secret text", mode: "lexical", answer: false });
    assert.ok(!hits.results.some((r) => r.text.includes("secret")), "nothing from outside the roots was indexed");
  });
});
