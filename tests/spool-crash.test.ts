import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { json, runCli, startCli, workspace } from "./helpers/cli.ts";

const N = 2000;
const KILLS = 20;

/** Whether the gate acknowledged a job holding all N documents (the client saw its "yes"). */
function acknowledged(data: string): boolean {
  try {
    const db = new Database(join(data, "ledger.db"), { readonly: true, fileMustExist: true });
    try {
      const row = db
        .prepare<[number], { n: number }>(
          "select count(*) as n from jobs j where sealed = 1 and (select count(*) from job_documents d where d.job_id = j.id) = ?",
        )
        .get(N);
      return (row?.n ?? 0) > 0;
    } finally {
      db.close();
    }
  } catch {
    return false;
  }
}

describe("the spool survives SIGKILL at random moments", () => {
  it(`${KILLS} kills later, every accepted document is indexed exactly once and no live record is left`, async () => {
    const ws = workspace("embedder:\n  backend: hash\n  dimensions: 64\nspool:\n  leaseMs: 60000\n");
    const corpus = join(ws.dir, "corpus.jsonl");
    writeFileSync(
      corpus,
      Array.from({ length: N }, (_, i) =>
        JSON.stringify({
          _id: `doc-${i}`,
          title: `Doc ${i}`,
          text: `Document ${i} talks about subject ${i % 41}. Another sentence, number ${i}.`,
        }),
      ).join("\n"),
    );
    const args = ["--data", ws.data, "--config", ws.config, "--json"];

    // A client that retries its ingest until the gate says yes, and a supervisor that restarts
    // the worker after every crash; both are killed at random moments.
    let kills = 0;
    let seed = 42;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    while (kills < KILLS) {
      const child: ChildProcess = acknowledged(ws.data)
        ? startCli([...args, "worker", "--exit-when-idle"])
        : startCli([...args, "ingest", corpus, "--wait"]);
      const delay = 300 + random() * 2200;
      const exited = await Promise.race([
        new Promise((r) => child.once("exit", () => r(true))),
        sleep(delay).then(() => false),
      ]);
      if (exited) continue; // it finished its part before the kill: start the next one
      child.kill("SIGKILL");
      await new Promise((r) => child.once("close", r));
      kills++;
    }

    // The last restart runs to the end.
    if (!acknowledged(ws.data)) assert.equal((await runCli([...args, "ingest", corpus, "--wait"])).code, 0);
    const last = await runCli([...args, "worker", "--exit-when-idle"]);
    assert.equal(last.code, 0, last.stderr);

    const stats = json<{ documents: number; chunks: number }>(await runCli([...args, "stats"]));
    assert.equal(stats.documents, N);
    const db = new Database(join(ws.data, "index.db"), { readonly: true });
    const dupes = db
      .prepare<[], { n: number }>(
        "select count(*) as n from (select doc_id, ordinal from chunks group by doc_id, ordinal having count(*) > 1)",
      )
      .get()!.n;
    const docs = db.prepare<[], { n: number }>("select count(distinct doc_id) as n from chunks").get()!.n;
    db.close();
    assert.equal(docs, N, "every document has its chunks");
    assert.equal(dupes, 0, "no chunk is indexed twice");

    const spool = json<{ pending: Record<string, number>; leased: number; dead: number }>(
      await runCli([...args, "spool", "stats"]),
    );
    assert.deepEqual(
      [spool.pending["high"], spool.pending["normal"], spool.pending["bulk"], spool.leased, spool.dead],
      [0, 0, 0, 0, 0],
      "the spool holds no live record",
    );
    const jobs = json<{ jobs: Array<{ state: string }> }>(await runCli([...args, "jobs"]));
    assert.ok(
      jobs.jobs.every((j) => j.state === "COMPLETED" || j.state === "FAILED"),
      JSON.stringify(jobs.jobs.map((j) => j.state)),
    );
  });
});
