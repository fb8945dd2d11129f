import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { buildApp } from "../src/api/app.ts";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";

describe("a collection exists from the moment a document is accepted for it", () => {
  it("answers an empty result with how many documents are still to come, then the documents once indexed", async () => {
    const sluice = await Sluice.open({
      dataDir: mkdtempSync(join(tmpdir(), "sluice-pending-")),
      config: parseConfig({}),
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
    const app = await buildApp(sluice, { logger: false });
    try {
      const posted = await app.inject({
        method: "POST",
        url: "/v1/collections/fresh/documents",
        payload: {
          documents: [
            { id: "a", text: "Resume re-runs what did not complete." },
            { id: "b", text: "Cancel stops the work." },
          ],
        },
      });
      assert.equal(posted.statusCode, 202);

      // No worker has run: nothing indexed, two to come.
      const info = await app.inject({ method: "GET", url: "/v1/collections/fresh" });
      assert.equal(info.statusCode, 200, info.body);
      assert.deepEqual(info.json(), { name: "fresh", documents: 0, chunks: 0, pending: 2 });
      const early = await app.inject({
        method: "POST",
        url: "/v1/query",
        payload: { collection: "fresh", query: "what does resume do?" },
      });
      assert.equal(early.statusCode, 200, early.body);
      const body = early.json<{ results: unknown[]; pending: number; answer: { citations: unknown[] } }>();
      assert.deepEqual([body.results, body.pending, body.answer.citations], [[], 2, []]);

      await sluice.work({ exitWhenIdle: true });
      assert.deepEqual((await app.inject({ method: "GET", url: "/v1/collections/fresh" })).json(), {
        name: "fresh",
        documents: 2,
        chunks: 2,
        pending: 0,
      });
      const later = (
        await app.inject({
          method: "POST",
          url: "/v1/query",
          payload: { collection: "fresh", query: "what does resume do?" },
        })
      ).json<{ results: Array<{ docId: string }>; pending?: number }>();
      assert.equal(later.results[0]?.docId, "a");
      assert.equal(later.pending, undefined);

      // A collection nobody sent anything to is still not found.
      const missing = await app.inject({ method: "GET", url: "/v1/collections/never" });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<{ code: string }>().code, "COLLECTION_NOT_FOUND");
      assert.equal(
        (await app.inject({ method: "POST", url: "/v1/query", payload: { collection: "never", query: "x" } }))
          .statusCode,
        404,
      );
    } finally {
      await app.close();
      await sluice.close();
    }
  });
});
