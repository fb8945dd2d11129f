import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SluiceError } from "../contracts/errors.ts";
import { WaitFor } from "../pipeline/control.ts";
import { backoffMs, decide, precheck, type RequeuePolicy } from "./decide.ts";

const policy: RequeuePolicy = {
  retry: { attempts: 3, initialDelayMs: 1000, maxDelayMs: 5000, jitter: false },
  deadlineMs: 60_000,
};
const half = () => 0;

describe("decide", () => {
  it("completes a run that did not fail", () => {
    assert.deepEqual(decide(null, 1, policy), { action: "complete" });
  });

  it("retries a transient failure after the policy's backoff while attempts remain, then dead-letters", () => {
    assert.deepEqual(decide(new SluiceError("MODEL_UNAVAILABLE", "down"), 1, policy), {
      action: "retry",
      delayMs: 1000,
      error: "MODEL_UNAVAILABLE: down",
    });
    assert.deepEqual(decide(new SluiceError("MODEL_UNAVAILABLE", "down"), 2, policy), {
      action: "retry",
      delayMs: 2000,
      error: "MODEL_UNAVAILABLE: down",
    });
    assert.deepEqual(decide(new SluiceError("MODEL_UNAVAILABLE", "down"), 3, policy), {
      action: "dead-letter",
      code: "MODEL_UNAVAILABLE",
      message: "down",
    });
    assert.equal(backoffMs(policy.retry, 10), 5000, "capped at maxDelayMs");
  });

  it("jitter, when the policy asks for it, stays within half to all of the backoff", () => {
    const jittered = { ...policy, retry: { ...policy.retry, jitter: true } };
    const d = decide(new Error("socket hang up"), 2, jittered, null, half);
    assert.deepEqual(d, { action: "retry", delayMs: 1000, error: "STAGE_FAILED: socket hang up" });
  });

  it("refunds an open breaker and pushback (no attempt spent), even on the last attempt", () => {
    assert.equal(decide(new SluiceError("CIRCUIT_OPEN", "open"), 3, policy).action, "refund");
    assert.equal(decide(new SluiceError("MODEL_OVERLOADED", "full"), 9, policy).action, "refund");
    assert.equal(decide(new SluiceError("COLLECTION_LOCKED", "held"), 1, policy).action, "refund");
  });

  it("dead-letters user errors at once", () => {
    assert.deepEqual(decide(new SluiceError("PDF_CORRUPT", "a.pdf: truncated"), 1, policy), {
      action: "dead-letter",
      code: "PDF_CORRUPT",
      message: "a.pdf: truncated",
    });
  });

  it("parks a run that waits for a condition, and obeys cancel and shutdown before anything else", () => {
    assert.deepEqual(decide(new WaitFor("pdf-ready:d1", { until: 99, reason: "parsing" }), 1, policy), {
      action: "wait",
      condition: "pdf-ready:d1",
      until: 99,
      reason: "parsing",
    });
    assert.deepEqual(decide(new SluiceError("STAGE_FAILED", "x"), 1, policy, "cancelled"), { action: "cancelled" });
    assert.deepEqual(decide(new SluiceError("STAGE_FAILED", "x"), 1, policy, "stopping"), { action: "hand-back" });
  });
});

describe("precheck", () => {
  it("lets a lease within its attempts and deadline run", () => {
    assert.equal(precheck({ attempts: 3, crashes: 0, createdMs: 0 }, policy, 1000), null);
  });
  it("dead-letters past the attempt limit, naming crashes when the document caused them", () => {
    assert.equal(precheck({ attempts: 4, crashes: 0, createdMs: 0 }, policy, 0)?.action, "dead-letter");
    const poison = precheck({ attempts: 4, crashes: 3, createdMs: 0 }, policy, 0, "bad.txt");
    assert.equal(poison?.action === "dead-letter" && poison.code, "WORKER_CRASHED");
    assert.match(
      poison?.action === "dead-letter" ? poison.message : "",
      /^bad\.txt: the worker process died 3 time\(s\) while running this document alone/,
    );
  });
  it("dead-letters past the deadline", () => {
    const late = precheck({ attempts: 1, crashes: 0, createdMs: 0 }, policy, 61_000);
    assert.equal(late?.action === "dead-letter" && late.code, "DEADLINE_EXCEEDED");
  });
});
