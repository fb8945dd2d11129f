import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { parseConfig } from "../config/load-config.ts";
import { isSluiceError } from "../contracts/errors.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import { Sluice } from "./sluice.ts";

const DOCS = [
  { id: "tar", text: "GNU tar saves many files together into a single tape or disk archive." },
  { id: "gzip", text: "gzip reduces the size of files using Lempel-Ziv coding. The compressed file keeps its name." },
  { id: "curl", text: "curl transfers data from or to a server over HTTP, FTP and many other protocols." },
  { id: "nginx", text: "nginx is a web server and a reverse proxy server for HTTP. It serves static files fast." },
];

void describe("queries in reader threads (readerThreads)", () => {
  let dir: string;
  let threaded: Sluice;
  let inline: Sluice;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-readers-"));
    const config = parseConfig({});
    threaded = await Sluice.open({
      dataDir: join(dir, "data"),
      config,
      embedder: new HashEmbedder({ dimensions: 64 }),
      readerThreads: 2,
    });
    const job = await threaded.submitDocuments({ collection: "pkgs", documents: DOCS });
    await threaded.runJob(job.id);
    // The same folder, queried on the event loop: what the threads must answer.
    inline = await Sluice.open({ dataDir: join(dir, "data"), config, embedder: new HashEmbedder({ dimensions: 64 }) });
  });
  after(async () => {
    await threaded.close();
    await inline.close();
    await rm(dir, { recursive: true, force: true });
  });

  for (const mode of ["lexical", "dense", "hybrid"] as const) {
    void it(`${mode}: the same ranked chunks and answer as on the event loop, before and after segments`, async () => {
      const request = { collection: "pkgs", query: "web server for HTTP", mode, k: 3 };
      // The first queries may run before a thread has built its search segments; later ones after.
      for (let round = 0; round < 3; round++) {
        const [a, b] = await Promise.all([threaded.query(request), inline.query(request)]);
        assert.ok(a.results.length > 0);
        // Segments score vectors in double precision, sqlite-vec in single: equal to 1e-6.
        assert.deepEqual(
          a.results.map(({ score: _, ...rest }) => rest),
          b.results.map(({ score: _, ...rest }) => rest),
        );
        a.results.forEach((r, i) => assert.ok(Math.abs(r.score - b.results[i]!.score) < 1e-6));
        assert.deepEqual(a.answer, b.answer);
        await sleep(300);
      }
    });
  }

  void it("many queries at once, all answered by the pool", async () => {
    const queries = Array.from({ length: 40 }, (_, i) => ({
      collection: "pkgs",
      query: ["archive files", "compress files", "transfer data", "reverse proxy"][i % 4]!,
      answer: false,
    }));
    const answers = await Promise.all(queries.map((q) => threaded.query(q)));
    const expected = await Promise.all(queries.map((q) => inline.query(q)));
    assert.deepEqual(
      answers.map((a) => a.results.map((r) => r.docId)),
      expected.map((a) => a.results.map((r) => r.docId)),
    );
    assert.equal(answers[3]?.results[0]?.docId, "nginx");
  });

  /** `search_segment_bytes` of pkgs once the builder thread has reported it. */
  const segmentBytes = async (sluice: Sluice): Promise<number> => {
    for (let i = 0; i < 100; i++) {
      await sluice.query({ collection: "pkgs", query: "archive", answer: false });
      const line = (await sluice.metrics.registry.metrics())
        .split("\n")
        .find((l) => l.startsWith('search_segment_bytes{collection="pkgs"}'));
      if (line) return Number(line.split(" ")[1]);
      await sleep(50);
    }
    assert.fail("segments were never built for pkgs");
  };

  void it("the builder thread reports each collection's segments: search_segment_bytes", async () => {
    assert.ok((await segmentBytes(threaded)) > 0);
  });

  void it("from retrieval.segments.ann.minVectors the dense segment has an IVF index; probing every list, it answers exactly", async () => {
    const ivf = await Sluice.open({
      dataDir: join(dir, "data"),
      config: parseConfig({ retrieval: { segments: { ann: { minVectors: 1, lists: 2, probes: 2 } } } }),
      embedder: new HashEmbedder({ dimensions: 64 }),
      readerThreads: 1,
    });
    try {
      // The IVF index adds each row's place (4 bytes a row), 2 centroids of 64 floats and 3 list bounds.
      assert.equal((await segmentBytes(ivf)) - (await segmentBytes(threaded)), DOCS.length * 4 + 2 * 64 * 4 + 3 * 4);
      for (const query of ["web server for HTTP", "archive files", "compress"]) {
        const request = { collection: "pkgs", query, mode: "dense" as const, k: 3, answer: false };
        const [a, b] = await Promise.all([ivf.query(request), inline.query(request)]);
        assert.deepEqual(
          a.results.map((r) => r.docId),
          b.results.map((r) => r.docId),
        );
      }
    } finally {
      await ivf.close();
    }
  });

  void it("errors cross the thread with their code: an unknown collection is COLLECTION_NOT_FOUND", async () => {
    await assert.rejects(
      threaded.query({ collection: "nope", query: "anything" }),
      (err: unknown) => isSluiceError(err) && err.code === "COLLECTION_NOT_FOUND" && /pkgs/.test(err.message),
    );
  });
});
