import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { parseConfig } from "../../config/load-config.ts";
import { Sluice } from "../../engine/sluice.ts";
import { HashEmbedder } from "../../models/backends/hash-embedder.ts";
import type { EmbedOptions } from "../../models/ports.ts";
import { buildApp } from "../app.ts";

/** The hash embedder, but a query embedding takes `queryMs` (a model busy elsewhere). */
class SlowQueryEmbedder extends HashEmbedder {
  queryMs = 0;
  override async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (options.kind === "query" && this.queryMs > 0) await sleep(this.queryMs);
    return super.embed(texts, options);
  }
}

void describe("POST /v1/query admission (api.queries)", () => {
  let dir: string;
  let sluice: Sluice;
  let app: FastifyInstance;
  const embedder = new SlowQueryEmbedder({ dimensions: 64 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-admission-"));
    sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      cwd: dir,
      embedder,
      config: parseConfig({
        api: {
          queries: { maxConcurrent: 1, maxQueued: 1, queueTimeoutMs: 300 },
          rateLimits: { answer: false, query: false },
        },
      }),
    });
    app = await buildApp(sluice, { auth: {} });
    const job = await sluice.submitDocuments({
      collection: "c",
      documents: [{ id: "d1", text: "Admission control refuses queries the server cannot start in time." }],
    });
    await sluice.runJob(job.id);
  });
  after(async () => {
    await app.close();
    await sluice.close();
    await rm(dir, { recursive: true, force: true });
  });

  const query = () =>
    app.inject({
      method: "POST",
      url: "/v1/query",
      payload: { collection: "c", query: "admission control", mode: "hybrid", answer: false },
    });

  void it("one runs, one waits past its deadline and one finds the queue full: both refused with 503 OVERLOADED and Retry-After; the next is answered", async () => {
    embedder.queryMs = 1_000;
    const t0 = performance.now();
    // Which of the three reaches the queue first is up to the server; each answer is timed.
    const answers = await Promise.all(
      [query(), query(), query()].map(async (pending) => {
        const res = await pending;
        return {
          res,
          ms: performance.now() - t0,
          code: res.statusCode === 503 ? res.json<{ code: string }>().code : "",
        };
      }),
    );
    const answered = answers.filter((a) => a.res.statusCode === 200);
    const full = answers.filter((a) => a.res.statusCode === 503 && /1 waiting/.test(a.res.body));
    const late = answers.filter((a) => a.res.statusCode === 503 && /waited 300 ms/.test(a.res.body));
    assert.deepEqual(
      [answered.length, full.length, late.length],
      [1, 1, 1],
      answers.map((a) => `${a.res.statusCode} ${a.res.body}`).join("\n"),
    );
    for (const refused of [...full, ...late]) {
      assert.equal(refused.code, "OVERLOADED");
      assert.equal(refused.res.headers["retry-after"], "1");
    }
    assert.ok(full[0]!.ms < late[0]!.ms, "the full queue answers at once, before the waiting query's deadline");
    assert.ok(
      late[0]!.ms < answered[0]!.ms,
      "the waiting query is refused at its deadline, before the running one ends",
    );

    embedder.queryMs = 0;
    const next = await query();
    assert.equal(next.statusCode, 200, next.body);

    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    assert.match(metrics, /query_admission_total\{outcome="admitted"\} 2/);
    assert.match(metrics, /query_admission_total\{outcome="refused_full"\} 1/);
    assert.match(metrics, /query_admission_total\{outcome="refused_timeout"\} 1/);
  });
});
