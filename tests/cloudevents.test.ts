import assert from "node:assert/strict";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { CloudEvent } from "cloudevents";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";

describe("stage lifecycle as CloudEvents", () => {
  it("every stage of every document emits started and completed (or failed) events that validate against CloudEvents 1.0", async () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-ce-"));
    const file = join(dir, "events", "stages.jsonl");
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      config: parseConfig({ events: { file } }),
      embedder: new HashEmbedder({ dimensions: 16 }),
    });
    const seen: string[] = [];
    sluice.events.subscribe((ce) => seen.push(`${ce.type} ${ce.subject}`));
    try {
      const job = await sluice.submitDocuments({
        collection: "c",
        documents: [
          { id: "a", text: "Alpha document." },
          { id: "b", text: "Bravo document." },
          { id: "empty", text: "   " },
        ],
      });
      await sluice.runJob(job.id);
    } finally {
      await sluice.close();
    }
    const lines = readFileSync(file, "utf8").trim().split("\n");
    const events = lines.map((l) => new CloudEvent<Record<string, unknown>>(JSON.parse(l) as Record<string, unknown>));
    for (const e of events) assert.equal(e.validate(), true);
    assert.equal(seen.length, events.length, "in-process subscribers get the same events");

    const byDoc = (id: string) =>
      events
        .filter((e) => e.subject === id)
        .map((e) => `${e.type.replace("io.sluice.", "")}:${String(e.data?.["stage"])}`);
    for (const id of ["a", "b"]) {
      for (const stage of ["load", "parse", "dedupe", "chunk", "embed", "index"]) {
        assert.ok(byDoc(id).includes(`stage.started:${stage}`), `${id} ${stage} started`);
        assert.ok(byDoc(id).includes(`stage.completed:${stage}`), `${id} ${stage} completed`);
      }
    }
    assert.ok(byDoc("empty").includes("stage.failed:parse"), byDoc("empty").join(", "));
    const failed = events.find((e) => e.subject === "empty" && e.type === "io.sluice.stage.failed")!;
    assert.equal((failed.data?.["error"] as { code: string }).code, "DOCUMENT_EMPTY");
    const sample = events[0]!;
    assert.equal(sample.specversion, "1.0");
    assert.match(String(sample["jobid"]), /^job_/);
    assert.equal(sample["collection"], "c");
    assert.match(String(sample["pipelineversion"]), /^auto@[0-9a-f]{12}$/);
  });
});
