import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ROOT_CONTEXT } from "@opentelemetry/api";
import { decodeEnvelope, encodeEnvelope } from "../contracts/envelope.ts";
import { storedTraceparent, TRACEPARENT_META_KEY, withoutTraceparent, withTraceparent } from "./envelope-trace.ts";
import {
  activeTraceparent,
  contextFromTraceparent,
  otlpTracesUrl,
  startTracing,
  traceFields,
  traceparentFields,
  tracingEnabled,
  withSpan,
} from "./tracing.ts";

const TP = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

void describe("tracing off (the default)", () => {
  void it("without an endpoint, startTracing changes nothing and the helpers are inert", async () => {
    const tracing = await startTracing({ serviceName: "x" });
    assert.equal(tracing.enabled, false);
    assert.equal(tracingEnabled(), false);
    const work = Promise.resolve(42);
    let recording: boolean | undefined;
    const out = withSpan("s", { attributes: { a: 1 } }, (span) => {
      recording = span.isRecording();
      span.setAttribute("b", 2);
      return work;
    });
    // Not even a promise of its own: the cost of a span is one boolean check.
    assert.equal(out, work);
    assert.equal(await out, 42);
    assert.equal(recording, false);
    assert.equal(activeTraceparent(), undefined);
    assert.equal(contextFromTraceparent(TP), ROOT_CONTEXT);
    assert.deepEqual(traceFields(), {});
    await tracing.shutdown();
  });

  void it("tracing.enabled false (OTEL_SDK_DISABLED=true) keeps it off even with an endpoint", async () => {
    const tracing = await startTracing({ otlpUrl: "http://127.0.0.1:4318", enabled: false });
    assert.equal(tracing.enabled, false);
  });

  void it("the OTLP URL: tracesUrl (where the OTEL_* endpoints land) as is and winning; /v1/traces added to an otlpUrl without a path", () => {
    assert.equal(otlpTracesUrl({}), undefined);
    assert.equal(otlpTracesUrl({ otlpUrl: "http://collector:4318" }), "http://collector:4318/v1/traces");
    assert.equal(
      otlpTracesUrl({ otlpUrl: "http://collector:4318/custom/traces" }),
      "http://collector:4318/custom/traces",
    );
    assert.equal(otlpTracesUrl({ otlpUrl: "http://a:4318", tracesUrl: "http://b:4318" }), "http://b:4318");
  });

  void it("a traceparent's ids for log lines", () => {
    assert.deepEqual(traceparentFields(TP), {
      trace_id: "4bf92f3577b34da6a3ce929d0e0e4736",
      span_id: "00f067aa0ba902b7",
    });
    assert.deepEqual(traceparentFields("garbage"), {});
    assert.deepEqual(traceparentFields(undefined), {});
  });
});

void describe("the traceparent in an envelope's meta", () => {
  void it("is added only when there is one, read back, and stripped before the run sees the document", () => {
    const meta = { owner: "ops" };
    assert.equal(withTraceparent(meta, undefined), meta);
    const traced = withTraceparent(meta, TP);
    assert.deepEqual(traced, { owner: "ops", [TRACEPARENT_META_KEY]: TP });
    // A v1 envelope as the gate writes it: the format is unchanged, meta being an open map.
    const bytes = encodeEnvelope({
      v: 1,
      id: "d",
      source: "d",
      text_hash: "a".repeat(64),
      char_len: 1,
      tags: [],
      pii: { email: 0, phone: 0 },
      lane: "normal",
      version: "auto@000000000000",
      ts_ms: 1,
      meta: traced,
      job_id: "j",
      collection: "c",
      pipeline: "auto",
      payload: { kind: "inline", text: "x" },
    });
    assert.equal(bytes[0], 1);
    const envelope = decodeEnvelope(bytes);
    assert.equal(storedTraceparent(envelope), TP);
    assert.deepEqual(withoutTraceparent(envelope).meta, { owner: "ops" });
    assert.equal(storedTraceparent(withoutTraceparent(envelope)), undefined);
  });
});
