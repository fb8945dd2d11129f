import assert from "node:assert/strict";
import type { ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import { describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import Database from "better-sqlite3";
import { json, runCli, startCli, stopChild, workspace } from "./helpers/cli.ts";

const N = 3000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

function startModelServer(config: string, listen: string): Promise<ChildProcess> {
  const child = startCli(["--config", config, "model-server", "--listen", listen]);
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("listening on")) resolve(child);
    });
    child.once("exit", (code) => reject(new Error(`model server exited with ${code} before listening: ${out}`)));
  });
}

/** Texts the model server has embedded, from its Prometheus endpoint. */
async function embedded(metrics: string): Promise<number> {
  try {
    const text = await (await fetch(`http://${metrics}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith('model_server_items_total{service="embed"}'));
    return line ? Number(line.split(" ").at(-1)) : 0;
  } catch {
    return 0;
  }
}

describe("a model server killed mid-ingest", () => {
  it("is restarted and the job finishes with every document indexed exactly once", async () => {
    const [port, metricsPort] = [await freePort(), await freePort()];
    const address = `127.0.0.1:${port}`;
    const metrics = `127.0.0.1:${metricsPort}`;
    // One sluice.yaml for both sides: the gateway calls the server; the server hosts the embedder.
    const ws = workspace(
      `embedder: { backend: hash, dimensions: 64 }\nmodels: { mode: remote, remote: { address: "${address}", timeoutMs: 5000 } }\nmodelServer: { services: [embed], metricsListen: "${metrics}" }\n`,
    );
    const corpus = join(ws.dir, "corpus.jsonl");
    writeFileSync(
      corpus,
      `${Array.from({ length: N }, (_, i) => JSON.stringify({ _id: `doc-${i}`, text: `Document ${i} is about topic ${i % 41}. A second sentence for ${i}.` })).join("\n")}\n`,
    );

    let server = await startModelServer(ws.config, address);
    const ingest = startCli(["--data", ws.data, "--config", ws.config, "--json", "ingest", corpus, "--wait"]);
    let stdout = "";
    let stderr = "";
    ingest.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    ingest.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const ended = new Promise<number | null>((resolve) => ingest.once("close", resolve));
    try {
      const until = Date.now() + 60_000;
      while ((await embedded(metrics)) < N / 5 && ingest.exitCode === null && Date.now() < until) await sleep(10);
      assert.equal(ingest.exitCode, null, "the ingest finished before the server could be killed; raise N");
      server.kill("SIGKILL");
      await new Promise((r) => server.once("close", r));
      await sleep(1500);
      assert.equal(ingest.exitCode, null, "the ingest waits for the model server instead of failing");
      server = await startModelServer(ws.config, address);

      const code = await ended;
      assert.equal(code, 0, stderr + stdout);
      const job = json<{ state: string; total: number; done: number; failed: number }>({ code, stdout, stderr });
      assert.deepEqual([job.state, job.total, job.done, job.failed], ["COMPLETED", N, N, 0]);
      const stats = json<{ documents: number; chunks: number }>(
        await runCli(["--data", ws.data, "--config", ws.config, "--json", "stats"]),
      );
      assert.equal(stats.documents, N);
      const db = new Database(join(ws.data, "index.db"), { readonly: true });
      try {
        const dup = db
          .prepare<[], { n: number }>(
            "select count(*) as n from (select doc_id, ordinal from chunks group by doc_id, ordinal having count(*) > 1)",
          )
          .get();
        assert.equal(dup?.n, 0, "no chunk indexed twice");
      } finally {
        db.close();
      }
    } finally {
      ingest.kill("SIGKILL");
      await stopChild(server);
    }
  });
});
