import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseConfig } from "../config/load-config.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import { Sluice } from "./sluice.ts";

// Thirty documents on archives, the later ones ranking lower; five are from 2020 on and in English.
const DOCS = Array.from({ length: 30 }, (_, i) => ({
  id: `doc${i}`,
  text: `archive tools for tape number ${i}: ${"archive ".repeat(30 - i)}`,
  meta: { year: 2000 + i, lang: i % 2 ? "en" : "de" },
}));

void describe("metadata filters in queries", () => {
  let dir: string;
  const sluices: Sluice[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-filter-"));
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      config: parseConfig({}),
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
    sluices.push(sluice);
    const job = await sluice.submitDocuments({ collection: "c", documents: DOCS });
    await sluice.runJob(job.id);
    sluices.push(
      await Sluice.open({
        dataDir: join(dir, "data"),
        config: parseConfig({}),
        embedder: new HashEmbedder({ dimensions: 32 }),
        readerThreads: 1,
      }),
    );
  });
  after(async () => {
    for (const s of sluices) await s.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const [i, where] of ["on the event loop", "in reader threads"].entries()) {
    void it(`returns k matching results for every mode (${where})`, async () => {
      const sluice = sluices[i]!;
      // Twice in threads: before and after the reader's segments are built.
      for (let round = 0; round < (i ? 2 : 1); round++) {
        for (const mode of ["lexical", "dense", "hybrid"] as const) {
          const response = await sluice.query({
            collection: "c",
            query: "archive tools",
            mode,
            k: 5,
            answer: false,
            filter: { year: { gte: 2020 }, lang: "en" },
          });
          assert.equal(response.results.length, 5, mode);
          for (const r of response.results) {
            const n = Number(r.docId.slice(3));
            assert.ok(n >= 20 && n % 2 === 1, `${mode}: ${r.docId}`);
          }
        }
        await sleep(500);
      }
    });
  }

  void it("a filter nothing matches answers no results", async () => {
    const response = await sluices[0]!.query({ collection: "c", query: "archive", filter: { lang: "fr" } });
    assert.deepEqual(response.results, []);
  });
});
