import assert from "node:assert/strict";
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import type { SluiceEvent } from "../src/observability/cloudevents.ts";
import { toCloudEvent } from "../src/observability/cloudevents.ts";
import { runCli, startCli } from "./helpers/cli.ts";

const dir = mkdtempSync(join(tmpdir(), "sluice-tail-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const at = Date.parse("2026-01-02T03:04:05.000Z");
const job: SluiceEvent = {
  type: "job.created",
  jobId: "job_t1",
  at,
  collection: "c",
  pipeline: "auto",
  pipelineVersion: "auto@0123456789ab",
  paths: [],
};
const stage = (docId: string, type: "stage.started" | "stage.completed" = "stage.completed"): SluiceEvent => ({
  type,
  jobId: "job_t1",
  docId,
  stage: "parse",
  attempt: 1,
  at,
  durationMs: 2.5,
  collection: "c",
});
const line = (e: SluiceEvent) => `${JSON.stringify(toCloudEvent(e, "/sluice/test"))}\n`;

describe("sluice events tail", () => {
  it("prints every event of the file, one readable line each; --json prints the raw lines; --type filters; -n keeps the last n", async () => {
    const file = join(dir, "events.jsonl");
    const lines = [line(job), line(stage("a", "stage.started")), line(stage("a")), line(stage("b"))];
    writeFileSync(file, lines.join(""));

    const plain = await runCli(["events", "tail", "--file", file]);
    assert.equal(plain.code, 0, plain.stderr);
    const out = plain.stdout.trim().split("\n");
    assert.equal(out.length, 4);
    assert.match(out[0]!, /^2026-01-02T03:04:05\.000Z {2}job\.created +job_t1 {2}collection=c {2}pipeline=auto$/);
    assert.match(out[2]!, /stage\.completed +a {2}job=job_t1 {2}stage=parse {2}attempt=1 {2}2\.5ms$/);

    const json = await runCli(["events", "tail", "--file", file, "--json"]);
    assert.equal(json.stdout, lines.join(""));

    const jobs = await runCli(["events", "tail", "--file", file, "--type", "io.sluice.job.*"]);
    assert.equal(jobs.stdout.trim().split("\n").length, 1);
    const stages = await runCli(["events", "tail", "--file", file, "--type", "stage.completed", "-n", "1"]);
    assert.match(stages.stdout.trim(), /stage\.completed +b /);

    const viaEnv = await runCli(["events", "tail", "--json"], { env: { SLUICE_EVENTS_FILE: file } });
    assert.equal(viaEnv.stdout, lines.join(""), "the configured sink is the default file");

    const missing = await runCli(["events", "tail", "--file", join(dir, "nope.jsonl")]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /PATH_NOT_FOUND/);
  });

  it("--follow prints appended lines as they are written (a line only once it is complete), and exits cleanly on SIGTERM", async () => {
    const file = join(dir, "follow.jsonl");
    const first = line(job);
    const last = line(stage("b"));
    writeFileSync(file, first);
    const child = startCli(["events", "tail", "--file", file, "--follow", "--json", "--poll-ms", "25"]);
    let stdout = "";
    let stderr = "";
    child.stdout!.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
    const until = async (n: number) => {
      const deadline = Date.now() + 20_000;
      while (stdout.split("\n").filter(Boolean).length < n) {
        if (Date.now() > deadline || child.exitCode !== null)
          throw new Error(`waited for ${n} lines, got:\n${stdout}\nstderr:\n${stderr}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    try {
      await until(1);
      const next = line(stage("a"));
      appendFileSync(file, next.slice(0, 40)); // half a line: not printed yet
      await new Promise((r) => setTimeout(r, 200));
      assert.equal(stdout.split("\n").filter(Boolean).length, 1);
      appendFileSync(file, next.slice(40) + last);
      await until(3);
      assert.equal(stdout, first + next + last);
    } finally {
      const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
      child.kill("SIGTERM");
      assert.equal(await exited, 0, stderr);
    }
  });
});
