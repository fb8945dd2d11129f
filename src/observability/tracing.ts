import {
  context,
  defaultTextMapGetter,
  defaultTextMapSetter,
  INVALID_SPAN_CONTEXT,
  isSpanContextValid,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
} from "@opentelemetry/api";
import type { W3CTraceContextPropagator } from "@opentelemetry/core";
import type { BasicTracerProvider, SpanExporter, TracerConfig } from "@opentelemetry/sdk-trace-base";
import { AsyncContextManager } from "./async-context-manager.ts";

export { SpanKind };
export type { Span };

/** The `tracing` section of the config (the OTEL_* variables already applied by `loadConfig`). */
export interface TracingConfig {
  /** Base URL of an OTLP/HTTP collector (`http://collector:4318`); `/v1/traces` is added unless the URL has a path. */
  otlpUrl?: string | undefined;
  /**
   * The full traces URL, used as is; wins over `otlpUrl` (env OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
   * OTEL_EXPORTER_OTLP_ENDPOINT).
   */
  tracesUrl?: string | undefined;
  /** `service.name` of every span (env OTEL_SERVICE_NAME). */
  serviceName?: string | undefined;
  /** `false` keeps tracing off even with an endpoint (env OTEL_SDK_DISABLED=true). */
  enabled?: boolean | undefined;
}

export interface StartTracingOptions {
  /** Export here instead of OTLP (tests: an `InMemorySpanExporter`); tracing is on even without a URL. */
  exporter?: SpanExporter;
  /** Export each span as it ends (default for `exporter`) rather than in batches (default for OTLP). */
  batch?: boolean;
}

/** A started (or, with no exporter configured, inert) tracer provider. */
export interface Tracing {
  readonly enabled: boolean;
  forceFlush(): Promise<void>;
  /** Flushes what is buffered and returns the process to the no-op API. */
  shutdown(): Promise<void>;
}

const TRACER = "sluice";
/** What `fn` gets while tracing is off: a span whose every method does nothing. */
const NOOP_SPAN = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
/** The running provider and its propagator; both null while tracing is off. */
let active: BasicTracerProvider | null = null;
let w3c: W3CTraceContextPropagator | null = null;

type Resource = NonNullable<TracerConfig["resource"]>;

/** A fixed resource (the SDK's own resource class lives in a package this project does not depend on). */
function staticResource(attributes: Attributes): Resource {
  return {
    attributes,
    merge: (other) => staticResource({ ...attributes, ...(other?.attributes ?? {}) }),
    getRawAttributes: () => Object.entries(attributes),
  };
}

/**
 * The OTLP traces URL: `tracing.tracesUrl` as is (where OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, or
 * OTEL_EXPORTER_OTLP_ENDPOINT plus `/v1/traces`, lands); else `tracing.otlpUrl`, with
 * `/v1/traces` appended when it names no path.
 *
 * @example
 * otlpTracesUrl({ otlpUrl: "http://collector:4318" }); // "http://collector:4318/v1/traces"
 */
export function otlpTracesUrl(config: TracingConfig): string | undefined {
  if (config.tracesUrl) return config.tracesUrl;
  const url = config.otlpUrl;
  if (!url) return undefined;
  return new URL(url).pathname.replace(/\/+$/, "") === "" ? `${url.replace(/\/+$/, "")}/v1/traces` : url;
}

/**
 * Turns tracing on for this process when an OTLP endpoint is configured (`tracing.otlpUrl`,
 * `tracing.tracesUrl`, OTEL_EXPORTER_OTLP_ENDPOINT) or an exporter is given; otherwise it changes
 * nothing, and every helper below stays a no-op that costs one boolean check. Registers the W3C
 * propagator and an AsyncLocalStorage context manager, so spans nest across awaits.
 * `tracing.enabled: false` (OTEL_SDK_DISABLED=true) keeps it off.
 *
 * @example
 * const tracing = await startTracing(config.tracing);
 * try { await run(); } finally { await tracing.shutdown(); }
 */
export async function startTracing(config: TracingConfig = {}, options: StartTracingOptions = {}): Promise<Tracing> {
  const url = otlpTracesUrl(config);
  if (config.enabled === false || (!options.exporter && !url)) {
    return { enabled: false, forceFlush: async () => undefined, shutdown: async () => undefined };
  }
  // The SDK loads only when tracing is on: every CLI command would pay for it otherwise.
  const [{ W3CTraceContextPropagator }, sdk] = await Promise.all([
    import("@opentelemetry/core"),
    import("@opentelemetry/sdk-trace-base"),
  ]);
  const exporter =
    options.exporter ?? new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter({ url });
  const batch = options.batch ?? !options.exporter;
  const provider = new sdk.BasicTracerProvider({
    resource: staticResource({ "service.name": config.serviceName || "sluice" }),
    spanProcessors: [batch ? new sdk.BatchSpanProcessor(exporter) : new sdk.SimpleSpanProcessor(exporter)],
  });
  if (active) disableGlobals();
  const propagator = new W3CTraceContextPropagator();
  context.setGlobalContextManager(new AsyncContextManager().enable());
  propagation.setGlobalPropagator(propagator);
  trace.setGlobalTracerProvider(provider);
  active = provider;
  w3c = propagator;
  return {
    enabled: true,
    forceFlush: () => provider.forceFlush(),
    async shutdown() {
      if (active === provider) disableGlobals();
      await provider.shutdown();
    },
  };
}

function disableGlobals(): void {
  trace.disable();
  context.disable();
  propagation.disable();
  active = null;
  w3c = null;
}

/** Whether a tracer provider is running in this process. */
export function tracingEnabled(): boolean {
  return active !== null;
}

/**
 * The W3C `traceparent` of the active span, or undefined when tracing is off or no span is active.
 *
 * @example
 * metadata.set("traceparent", activeTraceparent() ?? newTraceparent());
 */
export function activeTraceparent(ctx?: Context): string | undefined {
  if (!w3c) return undefined;
  const current = ctx ?? context.active();
  const span = trace.getSpan(current);
  if (!span || !isSpanContextValid(span.spanContext())) return undefined;
  const carrier: Record<string, string> = {};
  w3c.inject(current, carrier, defaultTextMapSetter);
  return carrier["traceparent"];
}

/**
 * A context whose parent span is the one a W3C `traceparent` names (from gRPC metadata, an HTTP
 * header or an envelope); the base context unchanged when the value is absent or malformed, or
 * tracing is off.
 *
 * @example
 * const parent = contextFromTraceparent(call.metadata.get("traceparent")[0]?.toString());
 */
export function contextFromTraceparent(traceparent: string | undefined, base: Context = ROOT_CONTEXT): Context {
  if (!traceparent || !w3c) return base;
  return w3c.extract(base, { traceparent }, defaultTextMapGetter);
}

/**
 * The parent for spans of work that carries a traceparent of its own: undefined (use the active
 * context) when tracing is off or a span is already active, else the context the traceparent
 * names.
 *
 * @example
 * await withSpan("stage parse", { parent: parentContext(ctx.traceparent) }, run);
 */
export function parentContext(traceparent: string | undefined): Context | undefined {
  if (!active || !traceparent) return undefined;
  const current = context.active();
  return trace.getSpan(current) ? undefined : contextFromTraceparent(traceparent, current);
}

/** Options of {@link withSpan}. */
export interface WithSpanOptions {
  kind?: SpanKind;
  attributes?: Attributes;
  /** The parent context (default: the active one). */
  parent?: Context;
  /** Errors that end the span without marking it failed (control-flow signals). */
  expected?: (err: unknown) => boolean;
}

function errorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/**
 * Runs `fn` inside a new active span and ends it when `fn` settles; a rejection marks the span
 * ERROR, records the exception and its `sluice.error.code`, and is re-thrown. With tracing off
 * it calls `fn` with an inert span and adds nothing else (not even a promise).
 *
 * @example
 * const hits = await withSpan("sluice.query", { attributes: { "sluice.query.mode": mode } }, () => retrieve());
 */
export function withSpan<T>(name: string, options: WithSpanOptions, fn: (span: Span) => Promise<T>): Promise<T> {
  if (!active) return fn(NOOP_SPAN);
  const parent = options.parent ?? context.active();
  const spanOptions = {
    kind: options.kind ?? SpanKind.INTERNAL,
    ...(options.attributes ? { attributes: options.attributes } : {}),
  };
  return trace.getTracer(TRACER).startActiveSpan(name, spanOptions, parent, async (span) => {
    try {
      return await fn(span);
    } catch (err) {
      if (!options.expected?.(err)) {
        const code = errorCode(err);
        if (code) span.setAttribute("sluice.error.code", code);
        span.recordException(err instanceof Error ? err : String(err));
        span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
      }
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Starts a span that the caller ends (for work whose start and end are separate callbacks, as an
 * HTTP request's hooks are), with the context to run its work in; undefined while tracing is off.
 *
 * @example
 * const started = startSpan("GET /v1/jobs/:id", { kind: SpanKind.SERVER });
 * if (started) runInContext(started.context, next);
 */
export function startSpan(
  name: string,
  options: Omit<WithSpanOptions, "expected">,
): { span: Span; context: Context } | undefined {
  if (!active) return undefined;
  const parent = options.parent ?? context.active();
  const span = trace
    .getTracer(TRACER)
    .startSpan(
      name,
      { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) },
      parent,
    );
  return { span, context: trace.setSpan(parent, span) };
}

/**
 * Runs `fn` with `ctx` as the active context (so spans started inside are its children).
 *
 * @example
 * runInContext(started.context, done);
 */
export function runInContext<T>(ctx: Context, fn: () => T): T {
  return context.with(ctx, fn);
}

/**
 * Marks a span failed (status ERROR, with a message).
 *
 * @example
 * if (reply.statusCode >= 500) failSpan(span, `HTTP ${reply.statusCode}`);
 */
export function failSpan(span: Span, message: string): void {
  span.setStatus({ code: SpanStatusCode.ERROR, message });
}

/**
 * `trace_id` and `span_id` of the active span, for log lines; empty when none is active.
 *
 * @example
 * logger.info({ ...traceFields(), stage }, "stage failed");
 */
export function traceFields(): { trace_id?: string; span_id?: string } {
  if (!active) return {};
  const span = trace.getSpan(context.active());
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}

/**
 * `trace_id` and `span_id` named by a W3C traceparent (a run's or a call's, when no local span is active).
 *
 * @example
 * traceparentFields("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
 * // { trace_id: "4bf9…", span_id: "00f0…" }
 */
export function traceparentFields(traceparent: string | undefined): { trace_id?: string; span_id?: string } {
  const m = traceparent ? /^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$/.exec(traceparent) : null;
  return m ? { trace_id: m[1]!, span_id: m[2]! } : {};
}
