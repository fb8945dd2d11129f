import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../config/load-config.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import type { EmbedOptions } from "../models/ports.ts";
import { Sluice } from "./sluice.ts";

/** Counts the query texts that reach the model. */
class CountingEmbedder extends HashEmbedder {
  queries = 0;
  override embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    if (options?.kind === "query") this.queries += texts.length;
    return super.embed(texts, options);
  }
}

const cacheLines = async (sluice: Sluice) =>
  (await sluice.metrics.registry.metrics()).split("\n").filter((l) => l.startsWith("query_cache_total{"));

void describe("query caches (retrieval.cache)", () => {
  let dir: string;
  let sluice: Sluice;
  const embedder = new CountingEmbedder({ dimensions: 32 });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-qcache-"));
    sluice = await Sluice.open({ dataDir: join(dir, "data"), config: parseConfig({}), embedder });
    const job = await sluice.submitDocuments({
      collection: "pkgs",
      documents: [
        { id: "tar", text: "GNU tar saves many files together into a single archive." },
        { id: "curl", text: "curl transfers data from or to a server over HTTP." },
      ],
    });
    await sluice.runJob(job.id);
  });
  after(async () => {
    await sluice.close();
    await rm(dir, { recursive: true, force: true });
  });

  void it("answers a repeated query from the results cache, until the collection changes", async () => {
    const request = { collection: "pkgs", query: "archive files", mode: "hybrid" as const };
    const first = await sluice.query(request);
    const embedded = embedder.queries;
    const second = await sluice.query(request);
    assert.deepEqual(second, first);
    assert.equal(embedder.queries, embedded, "a cached answer runs no retrieval");
    assert.ok((await cacheLines(sluice)).includes('query_cache_total{cache="results",outcome="hit"} 1'));

    // Another k is another answer.
    assert.equal((await sluice.query({ ...request, k: 1 })).results.length, 1);

    // A write bumps the collection's version: the cached answer is retired, the new document found.
    const job = await sluice.submitDocuments({
      collection: "pkgs",
      documents: [{ id: "zip", text: "zip packs files into an archive, compressed." }],
    });
    await sluice.runJob(job.id);
    const third = await sluice.query(request);
    assert.ok(
      third.results.some((r) => r.docId === "zip"),
      JSON.stringify(third.results),
    );
  });

  void it("a changed query re-embeds nothing it embedded before: query vectors are cached apart", async () => {
    await sluice.query({ collection: "pkgs", query: "transfer data", mode: "dense", k: 1 });
    const before = embedder.queries;
    // Another k misses the results cache but finds the vector.
    await sluice.query({ collection: "pkgs", query: "transfer data", mode: "dense", k: 2 });
    assert.equal(embedder.queries, before);
    assert.ok((await cacheLines(sluice)).some((l) => l.startsWith('query_cache_total{cache="vectors",outcome="hit"}')));
  });
});
