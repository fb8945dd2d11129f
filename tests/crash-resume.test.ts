import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { json, runCli, startCli, workspace } from "./helpers/cli.ts";

const N = 1500;

function corpus(dir: string): string {
  const path = join(dir, "corpus.jsonl");
  const lines = Array.from({ length: N }, (_, i) =>
    JSON.stringify({
      _id: `doc-${i}`,
      title: `Document ${i}`,
      text: `Document ${i} is about topic ${i % 37}. It has a second sentence about item ${i}. And a third one, numbered ${i * 7}.`,
    }),
  );
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

function done(data: string): number {
  try {
    const db = new Database(join(data, "ledger.db"), { readonly: true, fileMustExist: true });
    try {
      return (
        db.prepare<[], { n: number }>("select count(*) as n from job_documents where state = 'COMPLETED'").get()?.n ?? 0
      );
    } finally {
      db.close();
    }
  } catch {
    return 0; // not created yet
  }
}

describe("killing the process during an ingest", () => {
  it("resume completes the job with every document indexed exactly once", async () => {
    const ws = workspace();
    const path = corpus(ws.dir);
    const args = ["--data", ws.data, "--config", ws.config, "--json"];

    // Kill the ingest with SIGKILL a few times, each time once it has made some progress.
    let jobId: string | null = null;
    for (let round = 0; round < 3; round++) {
      const child: ChildProcess =
        round === 0
          ? startCli([...args, "ingest", path, "--wait"])
          : startCli([...args, "jobs", "resume", jobId!, "--wait"]);
      const target = Math.floor((N * (round + 1)) / 5);
      const deadline = Date.now() + 60_000;
      while (done(ws.data) < target && child.exitCode === null && Date.now() < deadline) await sleep(20);
      assert.equal(child.exitCode, null, `round ${round}: the ingest finished before it could be killed; raise N`);
      child.kill("SIGKILL");
      await new Promise((r) => child.once("close", r));
      if (!jobId) {
        const jobs = json<{ jobs: Array<{ id: string; state: string }> }>(await runCli([...args, "jobs"]));
        jobId = jobs.jobs[0]!.id;
        assert.equal(jobs.jobs[0]!.state, "PROCESSING", "a killed worker leaves its job PROCESSING");
      }
    }

    const resumed = await runCli([...args, "jobs", "resume", jobId!, "--wait"]);
    assert.equal(resumed.code, 0, resumed.stderr + resumed.stdout);
    const job = json<{ state: string; total: number; done: number; failed: number }>(resumed);
    assert.deepEqual([job.state, job.total, job.done, job.failed], ["COMPLETED", N, N, 0]);

    const stats = json<{ documents: number; chunks: number }>(await runCli([...args, "stats"]));
    assert.equal(stats.documents, N);
    const db = new Database(join(ws.data, "index.db"), { readonly: true });
    const row = db
      .prepare<[], { docs: number; chunks: number; dupes: number }>(
        `select count(distinct doc_id) as docs, count(*) as chunks,
                (select count(*) from (select doc_id, ordinal from chunks group by doc_id, ordinal having count(*) > 1)) as dupes
         from chunks`,
      )
      .get()!;
    const sparseOrphans = db
      .prepare<[], { n: number }>(
        "select count(*) as n from sparse_terms where chunk_rowid not in (select id from chunks)",
      )
      .get()!.n;
    db.close();
    assert.equal(row.docs, N, "every document is in the index");
    assert.equal(row.dupes, 0, "no chunk is indexed twice");
    assert.equal(row.chunks, stats.chunks);
    assert.equal(sparseOrphans, 0, "no index row outlives its chunk");
  });
});
