import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { SluiceError } from "../contracts/errors.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import { buildPipeline } from "./build.ts";
import { defineStage } from "./define-stage.ts";
import { runPipeline } from "./executor.ts";
import { StageRegistry } from "./registry.ts";
import { loadTopology } from "./topology.ts";
import { testServices } from "./services.fixture.ts";

const services = testServices();

const doc = (id: string) => ({
  id,
  source: id,
  title: "",
  text: "hello world",
  mediaType: "text/plain",
  contentHash: "a".repeat(64),
  meta: {},
});

/** Emits a ParsedDocument from a ref; fails `failTimes` times with a transient error first. */
function makeStages(opts: { failTimes?: number; failWith?: () => Error; sleepMs?: number; badOutput?: boolean } = {}) {
  let calls = 0;
  const source = defineStage({
    type: "test.source",
    description: "ref → document",
    inputs: { ref: "DocumentRef" },
    outputs: { document: "ParsedDocument" },
    configSchema: z.object({}).strict(),
    create: () => ({
      execute: async ({ ref }, ctx) => {
        calls++;
        if (opts.sleepMs)
          await new Promise((r, j) => {
            const t = setTimeout(r, opts.sleepMs);
            ctx.signal.addEventListener("abort", () => {
              clearTimeout(t);
              j(ctx.signal.reason as Error);
            });
          });
        if (calls <= (opts.failTimes ?? 0)) throw opts.failWith?.() ?? new Error("transient");
        return { document: opts.badOutput ? ({ id: ref.id } as ReturnType<typeof doc>) : doc(ref.id) };
      },
    }),
  });
  const chunker = defineStage({
    type: "test.chunk",
    description: "document → chunks",
    inputs: { document: "ParsedDocument" },
    outputs: { chunks: "Chunks" },
    configSchema: z.object({ size: z.number().int().positive().default(10) }).strict(),
    create: () => ({
      execute: async ({ document }) => ({
        chunks: [{ id: `${document.id}#0`, docId: document.id, ordinal: 0, text: document.text, start: 0, end: 11 }],
      }),
    }),
  });
  return { registry: new StageRegistry().register(source, chunker), calls: () => calls };
}

const yaml = (extra = "", policy = "p") => `version: 1
name: t
policies:
  p:
    retry:
      attempts: 3
      initialDelayMs: 1
      maxDelayMs: 5
    timeoutMs: 200
inputs:
  - src.ref
nodes:
  - name: src
    type: test.source
    policy: ${policy}
  - name: chunk
    type: test.chunk
${extra}connections:
  - sender: src.document
    receiver: chunk.document
`;

const ref = { id: "d1", source: "d1", kind: "inline" as const, text: "x", meta: {} };

describe("buildPipeline", () => {
  it("names an unknown stage type and lists the registered ones", () => {
    const { registry } = makeStages();
    const t = loadTopology(yaml().replace("type: test.chunk", "type: test.chunker"));
    assert.throws(
      () => buildPipeline(t, registry, services),
      /node "chunk": unknown stage type "test\.chunker"; registered types: test\.chunk, test\.source/,
    );
  });

  it("lists a node's real ports when a connection names a missing one", () => {
    const { registry } = makeStages();
    const t = loadTopology(yaml().replace("sender: src.document", "sender: src.doc"));
    assert.throws(
      () => buildPipeline(t, registry, services),
      /node "src" \(test\.source\) has no output "doc"; its outputs are: document \(ParsedDocument\)/,
    );
  });

  it("rejects connecting ports of different types", () => {
    const { registry } = makeStages();
    const t = loadTopology(yaml().replace("receiver: chunk.document", "receiver: src.ref"));
    assert.throws(() => buildPipeline(t, registry, services), /sends ParsedDocument but src\.ref expects DocumentRef/);
  });

  it("rejects an unfed required input, an unknown policy, bad config and cycles", () => {
    const { registry } = makeStages();
    assert.throws(
      () => buildPipeline(loadTopology(yaml().replace(/connections:[\s\S]*/, "connections: []\n")), registry, services),
      /required input "document" \(ParsedDocument\) is not connected/,
    );
    assert.throws(
      () => buildPipeline(loadTopology(yaml("", "nope")), registry, services),
      /unknown policy "nope"; defined policies: p/,
    );
    assert.throws(
      () => buildPipeline(loadTopology(yaml("    config:\n      size: -3\n")), registry, services),
      /node "chunk" \(test\.chunk\): config\.size/,
    );
  });
});

describe("runPipeline", () => {
  it("runs stages in order and reports every transition", async () => {
    const { registry } = makeStages();
    const pipeline = buildPipeline(loadTopology(yaml()), registry, services);
    const events: StageEvent[] = [];
    const result = await runPipeline(
      pipeline,
      { "src.ref": ref },
      { jobId: "j", docId: "d1", collection: "c", onEvent: (e) => events.push(e) },
    );
    assert.equal(result.status, "completed");
    assert.deepEqual(
      events.map((e) => `${e.type}:${e.stage}`),
      ["stage.started:src", "stage.completed:src", "stage.started:chunk", "stage.completed:chunk"],
    );
  });

  it("retries transient failures with backoff and reports retrying", async () => {
    const { registry, calls } = makeStages({ failTimes: 2 });
    const pipeline = buildPipeline(loadTopology(yaml()), registry, services);
    const events: StageEvent[] = [];
    await runPipeline(
      pipeline,
      { "src.ref": ref },
      { jobId: "j", docId: "d1", collection: "c", onEvent: (e) => events.push(e) },
    );
    assert.equal(calls(), 3);
    assert.deepEqual(
      events.filter((e) => e.type === "stage.retrying").map((e) => e.attempt),
      [2, 3],
    );
  });

  it("does not retry user errors", async () => {
    const { registry, calls } = makeStages({
      failTimes: 5,
      failWith: () => new SluiceError("PDF_CORRUPT", "a.pdf: corrupt"),
    });
    const pipeline = buildPipeline(loadTopology(yaml()), registry, services);
    await assert.rejects(runPipeline(pipeline, { "src.ref": ref }, { jobId: "j", docId: "d1", collection: "c" }), {
      code: "PDF_CORRUPT",
    });
    assert.equal(calls(), 1);
  });

  it("times out a slow stage on every attempt", async () => {
    const { registry, calls } = makeStages({ sleepMs: 5_000 });
    const pipeline = buildPipeline(loadTopology(yaml()), registry, services);
    const started = Date.now();
    await assert.rejects(runPipeline(pipeline, { "src.ref": ref }, { jobId: "j", docId: "d1", collection: "c" }), {
      code: "STAGE_TIMEOUT",
    });
    assert.equal(calls(), 3);
    assert.ok(Date.now() - started < 3_000);
  });

  it("validates stage outputs at the boundary", async () => {
    const { registry } = makeStages({ badOutput: true });
    const pipeline = buildPipeline(loadTopology(yaml()), registry, services);
    await assert.rejects(
      runPipeline(pipeline, { "src.ref": ref }, { jobId: "j", docId: "d1", collection: "c" }),
      /stage "src" output "document" is not a valid ParsedDocument/,
    );
  });

  it("opens the circuit after repeated failures and fails fast while open", async () => {
    const { registry, calls } = makeStages({ failTimes: 1000 });
    const t = loadTopology(
      yaml().replace("    timeoutMs: 200\n", "    breaker:\n      threshold: 3\n      halfOpenAfterMs: 60000\n"),
    );
    const pipeline = buildPipeline(t, registry, services);
    const run = () => runPipeline(pipeline, { "src.ref": ref }, { jobId: "j", docId: "d1", collection: "c" });
    await assert.rejects(run(), { code: "STAGE_FAILED" });
    const before = calls();
    assert.equal(before, 3, "three failed attempts open the breaker");
    await assert.rejects(run(), { code: "CIRCUIT_OPEN" });
    assert.equal(calls(), before, "an open breaker does not call the stage");
  });

  it("stops before a stage when the run is cancelled", async () => {
    const { registry } = makeStages();
    const pipeline = buildPipeline(loadTopology(yaml()), registry, services);
    const ran: string[] = [];
    await assert.rejects(
      runPipeline(
        pipeline,
        { "src.ref": ref },
        {
          jobId: "j",
          docId: "d1",
          collection: "c",
          beforeStage: (stage) => {
            if (stage === "chunk") throw new SluiceError("JOB_CANCELLED", "cancelled");
            ran.push(stage);
          },
        },
      ),
      { code: "JOB_CANCELLED" },
    );
    assert.deepEqual(ran, ["src"]);
  });

  it("restores a checkpointed stage instead of running it again", async () => {
    const { registry, calls } = makeStages();
    const t = loadTopology(yaml().replace("    policy: p\n", "    policy: p\n    checkpoint: true\n"));
    const pipeline = buildPipeline(t, registry, services);
    const saved = new Map<string, Record<string, unknown>>();
    const checkpoints = {
      load: async (n: string) => saved.get(n),
      save: async (n: string, o: Record<string, unknown>) => void saved.set(n, o),
    };
    await runPipeline(
      pipeline,
      { "src.ref": ref },
      { jobId: "j", docId: "d1", collection: "c", checkpoints, checkpointMinMs: 10_000 },
    );
    assert.equal(saved.size, 0, "a stage faster than the threshold is not worth a checkpoint");
    await runPipeline(
      pipeline,
      { "src.ref": ref },
      { jobId: "j", docId: "d1", collection: "c", checkpoints, checkpointMinMs: 0 },
    );
    assert.equal(calls(), 2);
    const events: StageEvent[] = [];
    await runPipeline(
      pipeline,
      { "src.ref": ref },
      { jobId: "j", docId: "d1", collection: "c", checkpoints, onEvent: (e) => events.push(e) },
    );
    assert.equal(calls(), 2, "the checkpointed stage did not run again");
    assert.equal(events[0]?.type, "stage.skipped");
  });
});
