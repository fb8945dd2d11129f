import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import Database from "better-sqlite3";
import { parseConfig } from "../src/config/load-config.ts";
import { SHIPPED_PIPELINES } from "../src/engine/resolve-pipeline.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { createLogger } from "../src/observability/logger.ts";
import { json, runCli, workspace } from "./helpers/cli.ts";

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const AUTO = readFileSync(join(SHIPPED_PIPELINES, "auto.yaml"), "utf8");

/** The shipped `auto` pipeline with its chunk size and its parse node's OCR languages changed. */
function custom(size: number, languages: string): string {
  const sized = AUTO.replace("size: 2000\n      overlap: 100", `size: ${size}\n      overlap: 0`);
  const text = sized.replace(
    "    type: parse.auto\n    policy: parse\n    checkpoint: true\n",
    `    type: parse.auto\n    policy: parse\n    checkpoint: true\n    config:\n      ocr:\n        languages: ${languages}\n`,
  );
  assert.notEqual(text, sized, "the parse node was found");
  assert.notEqual(sized, AUTO, "the chunk node was found");
  return text;
}

/** About 1,500 characters: one chunk at size 2000, a dozen or more at size 100. */
const TEXT = Array.from({ length: 25 }, (_, i) => `Sentence number ${i} talks about the snapshot of a pipeline.`).join(
  " ",
);

function setup() {
  const ws = workspace();
  dirs.push(ws.dir);
  const file = join(ws.dir, "custom.yaml");
  const lines: string[] = [];
  const open = () =>
    Sluice.open({
      dataDir: ws.data,
      cwd: ws.dir,
      config: parseConfig({}),
      embedder: new HashEmbedder({ dimensions: 64 }),
      logger: createLogger({ level: "info", destination: { write: (line: string) => void lines.push(line) } }),
    });
  const logged = (pattern: RegExp) =>
    lines.map((l) => JSON.parse(l) as { msg: string; level: number }).filter((l) => pattern.test(l.msg));
  return { ws, file, open, logged };
}

const documents = (prefix: string) =>
  Array.from({ length: 3 }, (_, i) => ({ id: `${prefix}${i}`, text: `${prefix} ${i}. ${TEXT}` }));

describe("a job runs the pipeline snapshot it was created with", () => {
  it("a job admitted before its pipeline file changed runs the old file, says so once, and `jobs <id>` shows it", async () => {
    const { ws, file, open, logged } = setup();
    writeFileSync(file, custom(100, "eng"));
    const first = await open();
    let jobId: string;
    let old: string;
    try {
      // By its absolute path, so that the CLI finds it from any working directory. Admitted with no
      // worker running: the documents wait in the spool.
      const job = await first.submitDocuments({
        collection: "old",
        pipeline: file,
        documents: documents("a"),
      });
      assert.equal(job.state, "PENDING");
      assert.match(job.pipelineVersion ?? "", /^custom@[0-9a-f]{12}$/);
      jobId = job.id;
      old = job.pipelineVersion!;
    } finally {
      await first.close();
    }

    writeFileSync(file, custom(2000, "tha"));
    const sluice = await open();
    const now = await sluice.pipelineFileVersion(file);
    try {
      assert.match(now ?? "", /^custom@[0-9a-f]{12}$/);
      assert.notEqual(now, old);

      const done = await sluice.runJob(jobId);
      assert.deepEqual([done.state, done.done, done.pipelineVersion], ["COMPLETED", 3, old]);
      // Chunked at the old size: many chunks per document, where the new file makes one.
      const chunks = (await sluice.stats("old")).chunks;
      assert.ok(chunks >= 3 * 10, `chunked at size 100: ${chunks} chunks for 3 documents`);
      const snapshot = await sluice.pipelineForRun(file, old);
      const parse = snapshot.topology.nodes.find((n) => n.name === "parse");
      assert.deepEqual(parse?.config, { ocr: { languages: "eng" } }, "OCR parameters come from the snapshot");

      const said = logged(/runs its pipeline snapshot/);
      assert.equal(said.length, 1, "said once per version, not per document");
      assert.equal(said[0]!.msg, `a job runs its pipeline snapshot ${old}; custom.yaml has changed since (now ${now})`);

      // A job created now runs the new file.
      const fresh = await sluice.submitDocuments({
        collection: "new",
        pipeline: file,
        documents: documents("b"),
      });
      assert.equal(fresh.pipelineVersion, now);
      assert.equal((await sluice.runJob(fresh.id)).state, "COMPLETED");
      assert.equal((await sluice.stats("new")).chunks, 3, "one chunk per document at size 2000");
      assert.equal(logged(/runs its pipeline snapshot/).length, 1, "nothing to say about a job on the current file");
      const current = await sluice.pipelineForRun(file, now!);
      assert.deepEqual(current.topology.nodes.find((n) => n.name === "parse")?.config, { ocr: { languages: "tha" } });
    } finally {
      await sluice.close();
    }

    const args = ["--data", ws.data, "--config", ws.config];
    const shown = await runCli([...args, "jobs", jobId]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /COMPLETED/);
    assert.ok(
      shown.stdout.includes(`  pipeline: ${old} (snapshot; the file has changed since, now ${now})`),
      shown.stdout,
    );
    assert.equal(
      json<{ pipelineVersion: string }>(await runCli([...args, "--json", "jobs", jobId])).pipelineVersion,
      old,
    );
  });

  it("a job whose pipeline file is deleted still runs its snapshot", async () => {
    const { file, open, logged } = setup();
    writeFileSync(file, custom(100, "eng"));
    const sluice = await open();
    try {
      const job = await sluice.submitDocuments({
        collection: "gone",
        pipeline: "custom.yaml",
        documents: documents("g"),
      });
      rmSync(file);
      assert.equal(await sluice.pipelineFileVersion("custom.yaml"), null);
      const done = await sluice.runJob(job.id);
      assert.deepEqual([done.state, done.done], ["COMPLETED", 3]);
      assert.ok((await sluice.stats("gone")).chunks >= 30);
      assert.deepEqual(
        logged(/runs its pipeline snapshot/).map((l) => l.msg),
        [`a job runs its pipeline snapshot ${job.pipelineVersion}; custom.yaml is gone since`],
      );
    } finally {
      await sluice.close();
    }
  });

  it("a data folder from before snapshots runs the pipeline by name, and says that it does", async () => {
    const { ws, file, open, logged } = setup();
    writeFileSync(file, custom(100, "eng"));
    const first = await open();
    let jobId: string;
    let old: string;
    try {
      const job = await first.submitDocuments({
        collection: "legacy",
        pipeline: "custom.yaml",
        documents: documents("l"),
      });
      jobId = job.id;
      old = job.pipelineVersion!;
    } finally {
      await first.close();
    }
    // What a data folder written before snapshots holds: no snapshot, and jobs without a version.
    const db = new Database(join(ws.data, "ledger.db"));
    try {
      db.exec("delete from pipeline_snapshots");
      db.exec("update jobs set spec = json_remove(spec, '$.pipelineVersion')");
    } finally {
      db.close();
    }

    writeFileSync(file, custom(2000, "tha"));
    const sluice = await open();
    try {
      assert.equal((await sluice.getJob(jobId)).pipelineVersion, undefined);
      const done = await sluice.runJob(jobId);
      assert.deepEqual([done.state, done.done], ["COMPLETED", 3]);
      assert.equal((await sluice.stats("legacy")).chunks, 3, "run by name: the file as it is now");
      const warned = logged(/no snapshot of pipeline/);
      assert.equal(warned.length, 1);
      assert.equal(warned[0]!.level, 40, "a warning");
      assert.match(warned[0]!.msg, new RegExp(`^no snapshot of pipeline ${old} in the ledger`));
    } finally {
      await sluice.close();
    }
  });
});
