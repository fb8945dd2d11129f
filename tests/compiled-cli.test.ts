import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { json, ROOT, workspace, type CliResult } from "./helpers/cli.ts";
import { eventually } from "./helpers/health-client.ts";

const BIN = join(ROOT, "bin", "sluice.js");

/** Runs a command the way an installed `sluice` runs: plain node, no tsx loader. */
function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, NODE_OPTIONS: "" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on("close", (code) => resolve({ code, stdout, stderr })));
}

const sluice = (args: string[]) => run(process.execPath, [BIN, ...args]);

describe("the compiled CLI (bin/sluice.js → dist/)", () => {
  it("--help lists the commands and writes nothing to stderr", async () => {
    const result = await sluice(["--help"]);
    assert.equal(result.code, 0, result.stderr);
    for (const command of ["ingest", "query", "jobs", "serve", "config"])
      assert.match(result.stdout, new RegExp(`\\b${command}\\b`));
    assert.equal(result.stderr, "");
  });

  it("npm reads the project's config without a warning (every npx sluice would print it first)", async () => {
    // `npx sluice` reads the same project config; `npm config get` does so without installing anything.
    const result = await run("npm", ["config", "get", "registry"]);
    assert.equal(result.code, 0, result.stderr);
    assert.doesNotMatch(result.stderr, /npm warn/i);
  });

  it("ingests with a background worker it spawns itself, and answers a query, without tsx", async () => {
    const ws = workspace();
    const docs = join(ws.dir, "docs");
    mkdirSync(docs);
    writeFileSync(
      join(docs, "resume.md"),
      "# Resume\n\nA failed job resumes from its last good stage with sluice jobs resume.\n",
    );
    writeFileSync(
      join(docs, "cancel.md"),
      "# Cancel\n\nCancel stops the work between stages and keeps the index clean.\n",
    );
    const base = ["--data", ws.data, "--config", ws.config, "--json"];

    // Without --wait the job runs in a detached worker started from the same entry point.
    const accepted = json<{ jobId: string }>(await sluice([...base, "ingest", docs]));
    await eventually(
      async () => json<{ state: string }>(await sluice([...base, "jobs", accepted.jobId])).state === "COMPLETED",
      "the spawned worker to complete the job",
      60_000,
    );

    const answer = json<{ results: { docId: string }[] }>(
      await sluice([...base, "query", "how does a failed job resume?", "--mode", "lexical"]),
    );
    assert.ok(answer.results.length > 0);
    assert.match(answer.results[0]!.docId, /resume/);
    assert.doesNotMatch(readFileSync(join(ws.data, "worker.log"), "utf8"), /tsx|Error/);
  });
});
