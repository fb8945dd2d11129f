import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { json, runCli, workspace } from "./helpers/cli.ts";

describe("job retention", () => {
  it("`jobs prune` deletes finished jobs past the retention and leaves the index alone", async () => {
    const ws = workspace("embedder:\n  backend: hash\n  dimensions: 64\njobs:\n  retentionMs: 3600000\n");
    const args = ["--data", ws.data, "--config", ws.config, "--json"];
    writeFileSync(join(ws.dir, "a.txt"), "Retention keeps the ledger small; the index keeps every document.");
    const ingested = json<{ jobId: string; state: string }>(
      await runCli([...args, "ingest", join(ws.dir, "a.txt"), "--wait"]),
    );
    assert.equal(ingested.state, "COMPLETED");

    // Within the retention (an hour): kept.
    assert.deepEqual(json(await runCli([...args, "jobs", "prune"])), { pruned: 0, olderThanMs: 3_600_000 });
    assert.equal(json<{ jobs: unknown[] }>(await runCli([...args, "jobs"])).jobs.length, 1);

    // Past a shorter one: gone from the ledger, still in the index.
    assert.deepEqual(json(await runCli([...args, "jobs", "prune", "--older-than", "0"])), {
      pruned: 1,
      olderThanMs: 0,
    });
    assert.deepEqual(json<{ jobs: unknown[] }>(await runCli([...args, "jobs"])).jobs, []);
    const gone = await runCli([...args, "jobs", ingested.jobId]);
    assert.notEqual(gone.code, 0);
    assert.match(gone.stdout + gone.stderr, /JOB_NOT_FOUND/);
    assert.equal(json<{ documents: number }>(await runCli([...args, "stats"])).documents, 1);

    const bad = await runCli([...args, "jobs", "prune", "--older-than", "soon"]);
    assert.notEqual(bad.code, 0);
    assert.equal(
      json<{ code: string; message: string }>(bad).message,
      `--older-than: expected a duration like 90s, 30m, 12h or 7d, got "soon"`,
    );
  });
});
