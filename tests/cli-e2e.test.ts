import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { json, ROOT, runCli } from "./helpers/cli.ts";

interface QueryOut {
  results: Array<{ docId: string; chunkId: string; score: number; text: string; source: string }>;
  answer: { text: string; citations: Array<{ n: number; docId: string; chunkId: string }> };
}

describe("README main job: ingest the bundled docs with the default (bundled, offline) model and ask", () => {
  const data = join(mkdtempSync(join(tmpdir(), "sluice-e2e-")), "data");

  it("ingests docs/ and answers 'how do I resume a failed job?' from the jobs page, with citations", async () => {
    const ingest = await runCli(["--data", data, "--json", "ingest", "docs", "--wait"], { cwd: ROOT });
    assert.equal(ingest.code, 0, ingest.stderr);
    const job = json<{ jobId: string; state: string; total: number; done: number; failed: number }>(ingest);
    assert.equal(job.state, "COMPLETED");
    assert.ok(job.total >= 5);
    assert.equal(job.done, job.total);

    const query = await runCli(["--data", data, "--json", "query", "how do I resume a failed job?"], { cwd: ROOT });
    assert.equal(query.code, 0, query.stderr);
    const out = json<QueryOut>(query);
    assert.equal(out.results[0]?.docId, "jobs.md");
    assert.ok(out.answer.citations.length >= 1);
    assert.equal(out.answer.citations[0]!.docId, "jobs.md");
    assert.match(out.answer.text, /sluice jobs resume/);
    assert.match(out.answer.text, /\[1\]/);

    const stats = json<{ collection: string; documents: number; chunks: number }>(
      await runCli(["--data", data, "--json", "stats"], { cwd: ROOT }),
    );
    assert.equal(stats.collection, "default");
    assert.equal(stats.documents, job.total);

    const again = json<{ state: string; done: number }>(
      await runCli(["--data", data, "--json", "ingest", "docs", "--wait"], { cwd: ROOT }),
    );
    assert.equal(again.state, "COMPLETED");
    const after = json<{ chunks: number }>(await runCli(["--data", data, "--json", "stats"], { cwd: ROOT }));
    assert.equal(after.chunks, stats.chunks, "re-ingesting unchanged documents changes nothing");
  });
});
