import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { z } from "zod";
import { encodeEnvelope, type EnvelopeV1 } from "../contracts/envelope.ts";
import { SluiceError } from "../contracts/errors.ts";
import type { StageEvent } from "../contracts/stage-event.ts";
import type { CollectionLock } from "../locks/collection-lock.ts";
import { HeldCollectionLocks } from "../locks/held-collection-locks.ts";
import { buildPipeline } from "../pipeline/build.ts";
import { SkipDocument, WaitFor } from "../pipeline/control.ts";
import { defineStage, type StageContext } from "../pipeline/define-stage.ts";
import { StageRegistry } from "../pipeline/registry.ts";
import { loadTopology } from "../pipeline/topology.ts";
import type { RequeuePolicy } from "./decide.ts";
import { cancelled, runDocument, type DocumentRunDeps } from "./document-run.ts";
import type { Lease } from "./work-queue.ts";
import { testServices } from "../pipeline/services.fixture.ts";

const policy: RequeuePolicy = {
  retry: { attempts: 3, initialDelayMs: 100, maxDelayMs: 1000, jitter: false },
  deadlineMs: 60_000,
};

const services = testServices();

const envelope: EnvelopeV1 = {
  v: 1,
  id: "doc-1",
  source: "notes/doc-1.txt",
  text_hash: createHash("sha256").update("hello").digest("hex"),
  char_len: 5,
  tags: [],
  pii: { email: 0, phone: 0 },
  lane: "normal",
  version: "p@abc",
  ts_ms: 1_700_000_000_000,
  meta: {},
  job_id: "job-1",
  collection: "c",
  pipeline: "p",
  payload: { kind: "inline", text: "hello" },
};

function lease(overrides: Partial<Lease> = {}): Lease {
  return {
    seq: 7,
    jobId: "job-1",
    docId: "doc-1",
    lane: "normal",
    attempts: 1,
    crashes: 0,
    suspect: false,
    createdMs: Date.now(),
    envelope: encodeEnvelope(envelope),
    ...overrides,
  };
}

/** What the index stage does on a run: return to succeed, throw to fail or signal. */
type Behaviour = (ctx: StageContext) => void | Promise<void>;

/** Resolves once the stage is running; rejects with the abort reason when its signal is aborted. */
function hang(started: () => void): Behaviour {
  return (ctx) =>
    new Promise<void>((_resolve, reject) => {
      ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true });
      started();
    });
}

const topology = (opts: { checkpoint?: boolean; policy?: string }) => `version: 1
name: p
policies:
  guarded:
    breaker:
      threshold: 1
      halfOpenAfterMs: 60000
inputs:
  - parse.ref
nodes:
  - name: parse
    type: test.parse
  - name: index
    type: test.index
${opts.checkpoint ? "    checkpoint: true\n" : ""}${opts.policy ? `    policy: ${opts.policy}\n` : ""}connections:
  - sender: parse.document
    receiver: index.document
`;

/**
 * A real two-stage pipeline (DocumentRef → ParsedDocument → IndexResult on a port named
 * `written`) and deps that record what the run did with them.
 */
function setup(opts: { checkpoint?: boolean; policy?: string; saved?: Record<string, unknown> } = {}) {
  const order: string[] = [];
  const events: StageEvent[] = [];
  const saves: Array<{ jobId: string; docId: string; node: string; output: Record<string, unknown> }> = [];
  const loads: string[] = [];
  let executions = 0;
  let behave: Behaviour = () => undefined;

  const parse = defineStage({
    type: "test.parse",
    description: "ref → document",
    inputs: { ref: "DocumentRef" },
    outputs: { document: "ParsedDocument" },
    configSchema: z.object({}).strict(),
    create: () => ({
      execute: async ({ ref }) => ({
        document: {
          id: ref.id,
          source: ref.source,
          title: "",
          text: ref.text ?? "",
          mediaType: "text/plain",
          contentHash: "a".repeat(64),
          meta: {},
        },
      }),
    }),
  });
  const index = defineStage({
    type: "test.index",
    description: "document → index result",
    inputs: { document: "ParsedDocument" },
    outputs: { written: "IndexResult" },
    configSchema: z.object({}).strict(),
    create: () => ({
      warmUp: async () => {
        order.push("warmUp");
      },
      execute: async ({ document }, ctx) => {
        executions++;
        order.push("execute");
        await behave(ctx);
        return { written: { docId: document.id, outcome: "inserted" as const, chunks: 1 } };
      },
    }),
  });
  const pipeline = buildPipeline(loadTopology(topology(opts)), new StageRegistry().register(parse, index), services);
  const deps: DocumentRunDeps = {
    pipelineFor: async (name) => {
      assert.equal(name, "p");
      return pipeline;
    },
    policyFor: (p) => {
      assert.equal(p, pipeline);
      return policy;
    },
    ledger: {
      loadCheckpoint: async (_jobId, _docId, node) => {
        loads.push(node);
        return node === "index" ? opts.saved : undefined;
      },
      saveCheckpoint: async (jobId, docId, node, output) => {
        saves.push({ jobId, docId, node, output });
      },
    },
    onEvent: (e) => events.push(e),
  };
  return {
    pipeline,
    deps,
    order,
    events,
    saves,
    loads,
    executions: () => executions,
    behave: (b: Behaviour) => {
      behave = b;
    },
  };
}

describe("runDocument", () => {
  it("completes a run, takes the outcome from the IndexResult port whatever its name, and records each stage", async () => {
    const t = setup();
    const s = await runDocument(lease(), new AbortController().signal, t.deps);
    assert.deepEqual(s.decision, { action: "complete" });
    assert.equal(s.outcome, "inserted");
    assert.deepEqual(
      s.stages.map((r) => [r.stage, r.state, r.attempts, r.error]),
      [
        ["parse", "COMPLETED", 1, null],
        ["index", "COMPLETED", 1, null],
      ],
    );
    for (const r of s.stages) assert.ok(r.startedAt !== null && r.finishedAt !== null);
    assert.equal(t.executions(), 1);
  });

  it("adds the collection, pipeline version and tenant to every stage event", async () => {
    const t = setup();
    await runDocument(lease(), new AbortController().signal, t.deps);
    assert.deepEqual(
      t.events.map((e) => `${e.type}:${e.stage}`),
      ["stage.started:parse", "stage.completed:parse", "stage.started:index", "stage.completed:index"],
    );
    for (const e of t.events) {
      assert.equal(e.collection, "c");
      assert.equal(e.pipelineVersion, "p@abc");
      assert.equal(typeof e.tenant, "string");
      assert.equal(e.jobId, "job-1");
      assert.equal(e.docId, "doc-1");
    }
  });

  it("calls onStart with the decoded envelope, and beforeRun after warm-up and before the first stage", async () => {
    const t = setup();
    const started: EnvelopeV1[] = [];
    const l = lease();
    const s = await runDocument(l, new AbortController().signal, {
      ...t.deps,
      onStart: (got, env) => {
        assert.equal(got, l);
        started.push(env);
        t.order.push("onStart");
      },
      beforeRun: async (got) => {
        assert.equal(got, l);
        t.order.push("beforeRun");
      },
    });
    assert.equal(s.decision.action, "complete");
    assert.deepEqual(started, [envelope]);
    assert.deepEqual(t.order, ["onStart", "warmUp", "beforeRun", "execute"]);
  });

  describe("failures", () => {
    it("retries a retryable error with the policy's backoff while attempts remain, then dead-letters it", async () => {
      const down = () => {
        throw new SluiceError("MODEL_UNAVAILABLE", "down");
      };
      const t = setup();
      t.behave(down);
      const first = await runDocument(lease({ attempts: 1 }), new AbortController().signal, t.deps);
      assert.deepEqual(first.decision, { action: "retry", delayMs: 100, error: "MODEL_UNAVAILABLE: down" });
      assert.equal(first.outcome, null);
      const index = first.stages.find((r) => r.stage === "index");
      assert.equal(index?.state, "FAILED");
      assert.equal(index?.error, "MODEL_UNAVAILABLE: down");

      const second = await runDocument(lease({ attempts: 2 }), new AbortController().signal, t.deps);
      assert.deepEqual(second.decision, { action: "retry", delayMs: 200, error: "MODEL_UNAVAILABLE: down" });

      const last = await runDocument(lease({ attempts: 3 }), new AbortController().signal, t.deps);
      assert.deepEqual(last.decision, { action: "dead-letter", code: "MODEL_UNAVAILABLE", message: "down" });
      assert.equal(t.executions(), 3);
    });

    it("retries an unknown error as STAGE_FAILED", async () => {
      const t = setup();
      t.behave(() => {
        throw new Error("socket hang up");
      });
      const s = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, { action: "retry", delayMs: 100, error: "STAGE_FAILED: socket hang up" });
    });

    it("dead-letters a user error at once", async () => {
      const t = setup();
      t.behave(() => {
        throw new SluiceError("PDF_CORRUPT", "a.pdf: corrupt");
      });
      const s = await runDocument(lease({ attempts: 1 }), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, { action: "dead-letter", code: "PDF_CORRUPT", message: "a.pdf: corrupt" });
      assert.equal(s.outcome, null);
    });

    it("refunds CIRCUIT_OPEN, even on the last attempt", async () => {
      const t = setup();
      t.behave(() => {
        throw new SluiceError("CIRCUIT_OPEN", "open");
      });
      const s = await runDocument(lease({ attempts: 3 }), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, { action: "refund", delayMs: 100, error: "CIRCUIT_OPEN: open" });
    });

    it("refunds a document whose stage's real breaker is open, without running the stage", async () => {
      const t = setup({ policy: "guarded" });
      t.behave(() => {
        throw new SluiceError("MODEL_UNAVAILABLE", "down");
      });
      const first = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.equal(first.decision.action, "retry");
      const second = await runDocument(lease({ seq: 8, docId: "doc-2" }), new AbortController().signal, t.deps);
      assert.equal(second.decision.action, "refund");
      assert.match(
        second.decision.action === "refund" ? second.decision.error : "",
        /^CIRCUIT_OPEN: stage "index": circuit breaker of policy "guarded" is open/,
      );
      assert.equal(t.executions(), 1, "the open breaker kept the stage from running");
    });

    it("refunds COLLECTION_LOCKED when another process holds the collection's lock, without running a stage", async () => {
      const t = setup();
      const lock: CollectionLock = {
        open: async () => undefined,
        close: async () => undefined,
        acquire: async () => false,
        renew: async () => false,
        release: async () => false,
        holder: async () => ({ owner: "other-worker", expiresInMs: 1000 }),
      };
      const s = await runDocument(lease(), new AbortController().signal, {
        ...t.deps,
        locks: new HeldCollectionLocks(lock, "me"),
      });
      assert.equal(s.decision.action, "refund");
      assert.match(
        s.decision.action === "refund" ? s.decision.error : "",
        /^COLLECTION_LOCKED: collection "c" is being ingested by another process \(other-worker\)/,
      );
      assert.equal(t.executions(), 0);
      assert.deepEqual(t.order, [], "not even warmed up");
    });

    it("takes the collection's lock for the run and releases it afterwards", async () => {
      const t = setup();
      const calls: string[] = [];
      const lock: CollectionLock = {
        open: async () => undefined,
        close: async () => undefined,
        acquire: async (collection, owner) => {
          calls.push(`acquire ${collection} ${owner}`);
          return true;
        },
        renew: async () => true,
        release: async (collection, owner) => {
          calls.push(`release ${collection} ${owner}`);
          return true;
        },
        holder: async () => null,
      };
      const locks = new HeldCollectionLocks(lock, "me");
      t.behave(() => {
        calls.push("execute");
      });
      const s = await runDocument(lease(), new AbortController().signal, { ...t.deps, locks });
      assert.equal(s.decision.action, "complete");
      assert.deepEqual(calls, ["acquire c me", "execute", "release c me"]);
      assert.deepEqual(locks.held(), []);
    });
  });

  describe("control signals", () => {
    it("parks a document whose stage throws WaitFor, with its condition, until and reason", async () => {
      const t = setup();
      t.behave(() => {
        throw new WaitFor("pdf-ready:doc-1", { until: 1_800_000_000_000, reason: "the PDF is being parsed" });
      });
      const s = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, {
        action: "wait",
        condition: "pdf-ready:doc-1",
        until: 1_800_000_000_000,
        reason: "the PDF is being parsed",
        stage: "index",
      });
      assert.equal(s.outcome, null);
      // The stage that suspended it is recorded as WAITING, with the reason.
      const rec = s.stages.find((r) => r.stage === "index");
      assert.equal(rec?.state, "WAITING");
      assert.equal(rec?.error, "the PDF is being parsed");
    });

    it("parks without an until when the WaitFor has none", async () => {
      const t = setup();
      t.behave(() => {
        throw new WaitFor("pdf-ready:doc-1");
      });
      const s = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, {
        action: "wait",
        condition: "pdf-ready:doc-1",
        reason: "waiting for pdf-ready:doc-1",
        stage: "index",
      });
    });

    it("completes a skipped document with the skip's outcome", async () => {
      const t = setup();
      t.behave(() => {
        throw new SkipDocument("unchanged");
      });
      const s = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, { action: "complete" });
      assert.equal(s.outcome, "unchanged");
      assert.equal(s.stages.find((r) => r.stage === "index")?.state, "COMPLETED");
    });
  });

  describe("before the run", () => {
    it("dead-letters an envelope that is not valid msgpack, naming the spool record", async () => {
      const t = setup();
      let started = 0;
      const s = await runDocument(
        lease({ seq: 42, envelope: Uint8Array.of(0x01, 0xc1) }),
        new AbortController().signal,
        {
          ...t.deps,
          pipelineFor: () => assert.fail("no pipeline is looked up for an unreadable envelope"),
          onStart: () => started++,
        },
      );
      assert.equal(s.decision.action, "dead-letter");
      assert.equal(s.decision.action === "dead-letter" ? s.decision.code : "", "VALIDATION_FAILED");
      assert.match(
        s.decision.action === "dead-letter" ? s.decision.message : "",
        /^spool record 42: corrupt envelope \(2 bytes\)/,
      );
      assert.equal(s.outcome, null);
      assert.deepEqual(s.stages, []);
      assert.equal(started, 0);
    });

    it("dead-letters a truncated envelope too", async () => {
      const t = setup();
      const s = await runDocument(
        lease({ envelope: encodeEnvelope(envelope).subarray(0, 20) }),
        new AbortController().signal,
        t.deps,
      );
      assert.equal(s.decision.action === "dead-letter" ? s.decision.code : s.decision.action, "VALIDATION_FAILED");
      assert.match(s.decision.action === "dead-letter" ? s.decision.message : "", /^spool record 7: corrupt envelope/);
    });

    it("dead-letters with the pipeline's error when pipelineFor rejects", async () => {
      const t = setup();
      const s = await runDocument(lease(), new AbortController().signal, {
        ...t.deps,
        pipelineFor: async () => {
          throw new SluiceError("PIPELINE_INVALID", 'node "index": unknown policy "gone"');
        },
      });
      assert.deepEqual(s.decision, {
        action: "dead-letter",
        code: "PIPELINE_INVALID",
        message: 'node "index": unknown policy "gone"',
      });
      assert.deepEqual(s.stages, []);
    });

    it("dead-letters a poison document (over its attempts, with crashes) as WORKER_CRASHED without running it", async () => {
      const t = setup();
      const s = await runDocument(lease({ attempts: 4, crashes: 1 }), new AbortController().signal, t.deps);
      assert.equal(s.decision.action === "dead-letter" ? s.decision.code : s.decision.action, "WORKER_CRASHED");
      assert.match(
        s.decision.action === "dead-letter" ? s.decision.message : "",
        /^notes\/doc-1\.txt: the worker process died 1 time\(s\)/,
      );
      assert.equal(t.executions(), 0);
      assert.deepEqual(t.order, []);
    });

    it("dead-letters a document past its deadline as DEADLINE_EXCEEDED without running it", async () => {
      const t = setup();
      const s = await runDocument(lease({ createdMs: Date.now() - 61_000 }), new AbortController().signal, t.deps);
      assert.equal(s.decision.action === "dead-letter" ? s.decision.code : s.decision.action, "DEADLINE_EXCEEDED");
      assert.equal(t.executions(), 0);
    });
  });

  describe("interruptions", () => {
    it("cancels the run when the signal is aborted with JOB_CANCELLED while a stage runs", async () => {
      const t = setup();
      const controller = new AbortController();
      t.behave(hang(() => controller.abort(cancelled("job-1"))));
      const s = await runDocument(lease(), controller.signal, t.deps);
      assert.deepEqual(s.decision, { action: "cancelled" });
      assert.equal(s.outcome, null);
      const index = s.stages.find((r) => r.stage === "index");
      assert.equal(index?.state, "FAILED");
      assert.equal(index?.error, "JOB_CANCELLED: job job-1 was cancelled");
    });

    it("hands the document back when the signal is aborted for another reason", async () => {
      const t = setup();
      const controller = new AbortController();
      t.behave(hang(() => controller.abort(new Error("worker stopping"))));
      const s = await runDocument(lease({ attempts: 3 }), controller.signal, t.deps);
      assert.deepEqual(s.decision, { action: "hand-back" });
    });

    it("hands the document back when the signal is aborted with no reason", async () => {
      const t = setup();
      const controller = new AbortController();
      t.behave(hang(() => controller.abort()));
      const s = await runDocument(lease(), controller.signal, t.deps);
      assert.deepEqual(s.decision, { action: "hand-back" });
    });

    // The worker aborts a run's controller before calling runDocument when its job was already
    // cancelled or the worker is already stopping; runDocument only listens for a future abort.
    it("does not run a document whose signal is already aborted", async () => {
      const t = setup();
      const controller = new AbortController();
      controller.abort(cancelled("job-1"));
      const s = await runDocument(lease(), controller.signal, t.deps);
      assert.deepEqual(s.decision, { action: "cancelled" });
      assert.equal(t.executions(), 0);
    });
  });

  describe("checkpoints", () => {
    it("restores a checkpointed stage from the ledger instead of running it, and takes the outcome from it", async () => {
      const saved = { written: { docId: "doc-1", outcome: "replaced", chunks: 2 } };
      const t = setup({ checkpoint: true, saved });
      const s = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, { action: "complete" });
      assert.equal(s.outcome, "replaced");
      assert.deepEqual(t.loads, ["index"], "only the checkpointed node is looked up");
      assert.equal(t.executions(), 0);
      assert.deepEqual(
        s.stages.map((r) => [r.stage, r.state]),
        [
          ["parse", "COMPLETED"],
          ["index", "SKIPPED"],
        ],
      );
    });

    it("saves a slow checkpointed stage's output under the lease's job and document", async (ctx) => {
      const t = setup({ checkpoint: true });
      // The stage "takes" 60 ms on a fake clock: no real sleep.
      let clock = 1_000;
      ctx.mock.method(performance, "now", () => clock);
      t.behave(() => {
        clock += 60;
      });
      const s = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.deepEqual(s.decision, { action: "complete" });
      assert.deepEqual(t.saves, [
        {
          jobId: "job-1",
          docId: "doc-1",
          node: "index",
          output: { written: { docId: "doc-1", outcome: "inserted", chunks: 1 } },
        },
      ]);
    });

    it("does not save a fast stage's output", async (ctx) => {
      const t = setup({ checkpoint: true });
      const clock = 1_000;
      ctx.mock.method(performance, "now", () => clock);
      const s = await runDocument(lease(), new AbortController().signal, t.deps);
      assert.equal(s.decision.action, "complete");
      assert.deepEqual(t.saves, []);
    });
  });
});
