import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../config/load-config.ts";
import { isSluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import { Sluice, type QueryRequest } from "./sluice.ts";

const DOCS = Array.from({ length: 12 }, (_, i) => ({ id: `d${i}`, text: `archive ${"tape ".repeat(i + 1)}` }));

void describe("query pages (cursor)", () => {
  let dir: string;
  const sluices: Sluice[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-pages-"));
    for (const readerThreads of [0, 1])
      sluices.push(
        await Sluice.open({
          dataDir: join(dir, "data"),
          config: parseConfig({}),
          embedder: new HashEmbedder({ dimensions: 32 }),
          readerThreads,
        }),
      );
    const job = await sluices[0]!.submitDocuments({ collection: "c", documents: DOCS });
    await sluices[0]!.runJob(job.id);
  });
  after(async () => {
    for (const s of sluices) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [i, where] of ["on the event loop", "in reader threads"].entries()) {
    void it(`pages through every result once, in order (${where})`, async () => {
      const sluice = sluices[i]!;
      const request: QueryRequest = { collection: "c", query: "archive tape", mode: "lexical", k: 5 };
      const all = await sluice.query({ ...request, k: 12, answer: false });
      assert.equal(all.results.length, 12);
      const first = await sluice.query(request);
      assert.ok(first.answer, "the first page is answered");
      assert.ok(first.nextCursor);
      const second = await sluice.query({ ...request, cursor: first.nextCursor });
      assert.equal(second.answer, undefined, "later pages are not");
      const third = await sluice.query({ ...request, cursor: second.nextCursor! });
      assert.equal(third.nextCursor, undefined, "nothing can follow the last page");
      assert.deepEqual(
        [...first.results, ...second.results, ...third.results].map((r) => r.chunkId),
        all.results.map((r) => r.chunkId),
      );
      assert.deepEqual([first.results.length, second.results.length, third.results.length], [5, 5, 2]);
    });
  }

  void it("refuses a cursor of another query, a made-up one, and one from before a write", async () => {
    const sluice = sluices[0]!;
    const request: QueryRequest = { collection: "c", query: "archive tape", mode: "lexical", k: 5 };
    const { nextCursor } = await sluice.query(request);
    const refused = (code: string, pattern: RegExp) => (e: unknown) =>
      isSluiceError(e) && e.code === code && pattern.test(e.message);
    await assert.rejects(
      sluice.query({ ...request, k: 4, cursor: nextCursor! }),
      refused("VALIDATION_FAILED", /belongs to another query/),
    );
    await assert.rejects(
      sluice.query({ ...request, cursor: "bm90LWEtY3Vyc29y" }),
      refused("VALIDATION_FAILED", /not a cursor/),
    );
    const job = await sluice.submitDocuments({
      collection: "c",
      documents: [{ id: "new", text: "archive tape tape" }],
    });
    await sluice.runJob(job.id);
    await assert.rejects(sluice.query({ ...request, cursor: nextCursor! }), refused("CURSOR_STALE", /changed since/));
  });
});
