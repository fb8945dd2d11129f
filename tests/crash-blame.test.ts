import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { json, ROOT, runCli, startCli, workspace } from "./helpers/cli.ts";

const FAULTS = join(ROOT, "tests", "helpers", "fault-injection.ts");
const exited = (child: ChildProcess) =>
  new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

interface Stats {
  documents: number;
}
interface SpoolStats {
  pending: Record<string, number>;
  leased: number;
  dead: number;
  suspects: number;
}
interface DeadLetters {
  deadLetters: Array<{ docId: string; error: string }>;
}

describe("crash blame", () => {
  it("a poison document that kills its worker every time ends dead-lettered alone; the documents in flight with it are indexed", async () => {
    const ws = workspace("embedder:\n  backend: hash\n  dimensions: 64\nspool:\n  maxAttempts: 3\n");
    const corpus = join(ws.dir, "corpus.jsonl");
    const lines = Array.from({ length: 40 }, (_, i) => ({
      _id: `doc-${i}`,
      title: `Doc ${i}`,
      text: i === 7 ? "This one holds the POISON-PILL marker." : `Document ${i} is harmless, about topic ${i % 5}.`,
    }));
    writeFileSync(corpus, lines.map((l) => JSON.stringify(l)).join("\n"));
    const args = ["--data", ws.data, "--config", ws.config, "--json"];
    const env = { SLUICE_TEST_POISON: "POISON-PILL" };

    // The first run takes the poison with 15 others in flight; a supervisor restarts the worker
    // after every crash until one exits on its own.
    let crashes = 0;
    let child = startCli([...args, "ingest", corpus, "--wait"], { env, preload: [FAULTS] });
    for (;;) {
      const code = await exited(child);
      if (code !== null) break;
      crashes++;
      assert.ok(crashes <= 10, "the poison document stops killing workers once it is dead-lettered");
      child = startCli([...args, "worker", "--exit-when-idle"], { env, preload: [FAULTS] });
    }
    // One crash with everyone in flight, then one per attempt it spends running alone.
    assert.equal(crashes, 1 + 3, "crashes: the first (no one blamed), then three alone");

    const letters = json<DeadLetters>(await runCli([...args, "spool", "dlq", "list"]));
    assert.deepEqual(
      letters.deadLetters.map((d) => d.docId),
      ["doc-7"],
      "only the poison document is dead-lettered",
    );
    assert.match(
      letters.deadLetters[0]!.error,
      /^WORKER_CRASHED: .*the worker process died 3 time\(s\) while running this document alone/,
    );
    assert.equal(json<Stats>(await runCli([...args, "stats"])).documents, 39);
    const jobs = json<{ jobs: Array<{ state: string; done: number; failed: number }> }>(
      await runCli([...args, "jobs"]),
    );
    assert.deepEqual(
      jobs.jobs.map((j) => [j.state, j.done, j.failed]),
      [["COMPLETED", 39, 1]],
    );
  });

  it("3,000 documents posted over HTTP while `sluice serve` is SIGKILLed 20 times: all indexed, none dead-lettered", async () => {
    const N = 3000;
    const BATCH = 100;
    const KILLS = 20;
    const ws = workspace("embedder:\n  backend: hash\n  dimensions: 64\nspool:\n  leaseMs: 60000\n");
    const args = ["--data", ws.data, "--config", ws.config];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;

    let server: { child: ChildProcess; url: Promise<string>; exit: Promise<number | null> } | null = null;
    // The model takes 2 s to load, as the bundled one does: documents are leased while it loads.
    const serve = () => {
      const child = startCli([...args, "serve", "--port", "0"], {
        env: { SLUICE_TEST_WARMUP_MS: "2000" },
        preload: [FAULTS],
      });
      const url = new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout!.on("data", (d: Buffer) => {
          out += d.toString();
          const m = /listening on (http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once("exit", () => reject(new Error("server exited before listening")));
      });
      url.catch(() => undefined);
      return { child, url, exit: exited(child) };
    };

    // The client sends each batch until it gets its 202 (a killed server answers nothing).
    let next = 0;
    const client = (async () => {
      while (next < N) {
        const documents = Array.from({ length: BATCH }, (_, i) => ({
          id: `d${next + i}`,
          text: `Document ${next + i} about subject ${(next + i) % 37}. More words here.`,
        }));
        try {
          const url = await server!.url;
          const res = await fetch(`${url}/v1/collections/c/documents`, {
            method: "POST",
            headers: { "content-type": "application/json" },
            body: JSON.stringify({ documents }),
          });
          if (res.status === 202) next += BATCH;
          else await res.arrayBuffer();
        } catch {
          await sleep(50);
        }
      }
    })();

    for (let kills = 0; kills < KILLS; kills++) {
      server = serve();
      await server.url.catch(() => undefined);
      // Most kills land while the model loads (documents leased, none of them running: the same
      // documents each time, as the bundled model's load makes it), the rest while it works.
      await sleep(kills < 12 ? 700 + random() * 600 : 2300 + random() * 1500);
      server.child.kill("SIGKILL");
      await server.exit;
    }
    server = serve();
    await client;
    // Let the last server drain the spool, then stop it cleanly.
    const url = await server.url;
    for (let i = 0; i < 600; i++) {
      const s = (await (await fetch(`${url}/v1/spool`)).json()) as SpoolStats;
      if (s.pending["normal"] === 0 && s.leased === 0) break;
      await sleep(200);
    }
    server.child.kill("SIGTERM");
    assert.equal(await server.exit, 0);

    assert.equal(json<Stats>(await runCli([...args, "--json", "stats", "--collection", "c"])).documents, N);
    const spool = json<SpoolStats>(await runCli([...args, "--json", "spool", "stats"]));
    assert.deepEqual(
      [spool.pending["normal"], spool.leased, spool.dead],
      [0, 0, 0],
      "nothing left, nothing dead-lettered",
    );
    const jobs = json<{ jobs: Array<{ state: string; failed: number }> }>(await runCli([...args, "--json", "jobs"]));
    assert.ok(
      jobs.jobs.every((j) => j.failed === 0),
      "no document failed",
    );
  });
});
