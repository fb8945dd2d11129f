import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { ModelServer } from "../src/model-server/model-server.ts";
import { parseConfig } from "../src/config/load-config.ts";
import { MAIN, ROOT, workspace } from "./helpers/cli.ts";

// The runtimes themselves (our own thin backend modules may load; they import a runtime only in warmUp).
const ML_RUNTIMES =
  /node_modules\/(@tensorflow|@energetic-ai|onnxruntime[^/]*|@huggingface\/transformers|tesseract\.js[^/]*)\//;

/** Runs the CLI with the module recorder and returns its exit code, output and every module it loaded. */
function cliRecording(
  args: string[],
  env: NodeJS.ProcessEnv,
  log: string,
): Promise<{ code: number | null; stdout: string; stderr: string; modules: string[] }> {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "--import", join(ROOT, "tests", "helpers", "record-modules.ts"), MAIN, ...args],
    {
      cwd: ROOT,
      env: { ...process.env, ...env, SLUICE_MODULE_LOG: log },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) =>
    child.on("close", (code) =>
      resolve({ code, stdout, stderr, modules: [...new Set(readFileSync(log, "utf8").split("\n").filter(Boolean))] }),
    ),
  );
}

describe("the gateway in remote mode", () => {
  it("ingests and answers through the model server without loading any ML runtime", async () => {
    // The server is the bundled model (tfjs); the gateway processes must never load it themselves.
    const server = await ModelServer.start({
      config: parseConfig({ modelServer: { services: ["embed", "sparse"] } }),
      listen: "127.0.0.1:0",
    });
    try {
      await server.ready();
      const ws = workspace("models:\n  mode: in-process\n");
      const docs = join(ws.dir, "docs.jsonl");
      writeFileSync(
        docs,
        [
          '{"_id":"a","text":"Resume re-runs only the documents that did not complete."}',
          '{"_id":"b","text":"The gate spools every document before it answers."}',
        ].join("\n"),
      );
      const env = { SLUICE_MODELS: "remote", SLUICE_MODEL_SERVER: server.address };
      const base = ["--data", ws.data, "--config", ws.config, "--json"];

      const log = join(ws.dir, "ingest-modules.log");
      writeFileSync(log, "");
      const ingest = await cliRecording([...base, "ingest", docs, "--wait"], env, log);
      assert.equal(ingest.code, 0, ingest.stderr + ingest.stdout);
      assert.equal((JSON.parse(ingest.stdout) as { state: string }).state, "COMPLETED");
      assert.ok(
        ingest.modules.some((m) => m.includes("@grpc/grpc-js")),
        "the recorder sees the modules the gateway loads",
      );
      assert.deepEqual(
        ingest.modules.filter((m) => ML_RUNTIMES.test(m)),
        [],
      );

      const qlog = join(ws.dir, "query-modules.log");
      writeFileSync(qlog, "");
      const query = await cliRecording([...base, "query", "how do I resume a failed job?"], env, qlog);
      assert.equal(query.code, 0, query.stderr);
      const answer = JSON.parse(query.stdout) as { results: Array<{ docId: string }> };
      assert.equal(answer.results[0]?.docId, "a");
      assert.deepEqual(
        query.modules.filter((m) => ML_RUNTIMES.test(m)),
        [],
      );
      // The model ran: in the server.
      assert.ok((await server.metrics.itemsProcessed("embed")) >= 3);
    } finally {
      await server.close();
    }
  });

  it("in-process mode does load the bundled model (the recorder can see it)", async () => {
    // On the event loop (threads: 0): with embedder threads the model loads in a worker thread,
    // whose modules this main-thread recorder does not see on every Node version.
    const ws = workspace("models:\n  mode: in-process\n  threads: 0\n");
    const docs = join(ws.dir, "docs.jsonl");
    writeFileSync(docs, '{"_id":"a","text":"Resume re-runs only the documents that did not complete."}\n');
    const log = join(ws.dir, "modules.log");
    writeFileSync(log, "");
    const ingest = await cliRecording(
      ["--data", ws.data, "--config", ws.config, "--json", "ingest", docs, "--wait"],
      {},
      log,
    );
    assert.equal(ingest.code, 0, ingest.stderr);
    assert.ok(
      ingest.modules.some((m) => ML_RUNTIMES.test(m)),
      "the in-process embedder loads tfjs",
    );
  });
});
