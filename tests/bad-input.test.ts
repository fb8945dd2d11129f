import assert from "node:assert/strict";
import { mkdirSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { json, runCli, workspace } from "./helpers/cli.ts";
import { makeEncryptedPdf, makePdf } from "./helpers/pdf.ts";

interface IngestOut {
  state: string;
  total: number;
  done: number;
  failed: number;
  failures: Array<{ docId: string; source: string; error: { code: string; message: string } }>;
}
interface ErrorOut {
  statusCode: number;
  code: string;
  error: string;
  message: string;
}

describe("bad input fails alone, with a clear error naming the file", () => {
  it("each bad file fails with its own code; the good ones are indexed", async () => {
    const ws = workspace();
    const dir = join(ws.dir, "in");
    mkdirSync(dir);
    writeFileSync(join(dir, "good.txt"), "A perfectly good document about retrieval.\n");
    writeFileSync(join(dir, "good.pdf"), await makePdf([["A good PDF about hybrid search."]]));
    writeFileSync(join(dir, "empty.txt"), "");
    writeFileSync(join(dir, "huge.txt"), "");
    truncateSync(join(dir, "huge.txt"), 200 * 1024 * 1024); // sparse: 200 MB without writing them
    writeFileSync(
      join(dir, "image.txt"),
      Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.alloc(512)]),
    );
    writeFileSync(join(dir, "latin1.txt"), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x20, 0x6e, 0x6f, 0x69, 0x72]));
    writeFileSync(join(dir, "broken.pdf"), (await makePdf([["soon to be cut"]])).subarray(0, 300));
    writeFileSync(join(dir, "locked.pdf"), await makeEncryptedPdf());
    writeFileSync(
      join(dir, "records.jsonl"),
      '{"_id":"r1","text":"first record"}\n{not json\n{"_id":"r3","text":"third record"}\n',
    );

    const run = await runCli(["--data", ws.data, "--config", ws.config, "--json", "ingest", dir, "--wait"]);
    const out = json<IngestOut>(run);
    assert.equal(out.state, "COMPLETED", "a job with some bad documents still completes");
    const byFile = new Map(out.failures.map((f) => [f.source.split("/").pop()!.replace(/:\d+$/, ""), f.error]));
    const expected: Record<string, string> = {
      "empty.txt": "DOCUMENT_EMPTY",
      "huge.txt": "DOCUMENT_TOO_LARGE",
      "image.txt": "DOCUMENT_BINARY",
      "latin1.txt": "DOCUMENT_ENCODING",
      "broken.pdf": "PDF_CORRUPT",
      "locked.pdf": "PDF_ENCRYPTED",
      "records.jsonl": "JSONL_INVALID",
    };
    for (const [file, code] of Object.entries(expected)) {
      const error = byFile.get(file);
      assert.equal(error?.code, code, `${file}: ${JSON.stringify(error)}`);
      assert.ok(error.message.includes(file), `the message names the file: ${error.message}`);
    }
    assert.match(byFile.get("latin1.txt")!.message, /byte 3|offset 3/);
    assert.match(byFile.get("records.jsonl")!.message, /line 2/);
    assert.equal(out.failed, Object.keys(expected).length);
    assert.equal(out.done, 4, "good.txt, good.pdf and the two good JSONL records are indexed");

    const hits = json<{ results: Array<{ docId: string }> }>(
      await runCli(["--data", ws.data, "--config", ws.config, "--json", "query", "hybrid search", "--no-answer"]),
    );
    assert.equal(hits.results[0]?.docId, "good.pdf");
  });

  it("invalid YAML, an unknown stage, a missing collection, a bad config field and a missing path each name what was wrong", async () => {
    const ws = workspace();
    const base = ["--data", ws.data, "--config", ws.config, "--json"];

    writeFileSync(join(ws.dir, "bad.yaml"), "version: 1\nnodes: [\n  - name: a\n");
    let r = await runCli([...base, "pipeline", "validate", join(ws.dir, "bad.yaml")]);
    assert.equal(r.code, 1);
    let e = json<ErrorOut>(r);
    assert.equal(e.code, "PIPELINE_INVALID");
    assert.match(e.message, /bad\.yaml: invalid YAML/);

    writeFileSync(
      join(ws.dir, "unknown.yaml"),
      "version: 1\nname: x\ninputs:\n  - load.ref\nnodes:\n  - name: load\n    type: source.load\n  - name: magic\n    type: parse.magic\nconnections: []\n",
    );
    e = json<ErrorOut>(await runCli([...base, "pipeline", "validate", join(ws.dir, "unknown.yaml")]));
    assert.equal(e.code, "UNKNOWN_STAGE");
    assert.match(e.message, /node "magic": unknown stage type "parse\.magic"; registered types: .*chunk\.sentences/);

    e = json<ErrorOut>(await runCli([...base, "query", "anything", "--collection", "nope"]));
    assert.deepEqual([e.statusCode, e.code, e.error], [404, "COLLECTION_NOT_FOUND", "Not Found"]);
    assert.match(e.message, /collection "nope" does not exist/);

    writeFileSync(ws.config, "embedder:\n  backend: hash\n  dimensions: -4\n");
    e = json<ErrorOut>(await runCli([...base, "stats"]));
    assert.equal(e.code, "CONFIG_INVALID");
    assert.match(e.message, /sluice\.yaml: field "embedder\.dimensions"/);

    writeFileSync(ws.config, "embedder:\n  backend: hash\n");
    r = await runCli([...base, "ingest", join(ws.dir, "does-not-exist")]);
    assert.equal(r.code, 1);
    e = json<ErrorOut>(r);
    assert.equal(e.code, "PATH_NOT_FOUND");
    assert.match(e.message, /does-not-exist/);

    const shipped = await runCli([...base, "pipeline", "validate", "pipelines/auto.yaml"]);
    assert.equal(json<{ valid: boolean }>(shipped).valid, true);
  });
});
