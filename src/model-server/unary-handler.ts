import * as grpc from "@grpc/grpc-js";
import type { Logger } from "pino";
import { toServiceError } from "../models/remote/grpc-status.ts";
import { contextFromTraceparent, SpanKind, withSpan } from "../observability/tracing.ts";
import type { ModelServerMetrics } from "./server-metrics.ts";

/** What a handler knows about the call besides its request. */
export interface CallContext {
  /** Aborted when the client cancels or the deadline passes: stop the call's work. */
  signal: AbortSignal;
  /** The client's deadline (epoch ms), if it sent one. */
  deadline: number | undefined;
  tenantId: string;
  traceparent: string | undefined;
}

function metadataString(metadata: grpc.Metadata, key: string): string | undefined {
  const value = metadata.get(key)[0];
  return typeof value === "string" && value.length > 0 ? value : undefined;
}

/**
 * Wraps an async handler as a grpc-js unary handler: it turns cancellation into an AbortSignal,
 * reads tenant and trace context from metadata, answers errors as gRPC statuses (the rule book in
 * `grpc-status.ts`), and records count and latency by method and status code. With tracing on,
 * each call is a server span whose parent is the client's `traceparent`.
 *
 * @example
 * server.addService(proto.embed.service, {
 *   Embed: unaryHandler("Embed", deps, (request, ctx) => embed(request, ctx)),
 * });
 */
export function unaryHandler<Req, Rep>(
  method: string,
  deps: { metrics: ModelServerMetrics; logger: Logger },
  handle: (request: Req, ctx: CallContext) => Promise<Rep>,
): grpc.handleUnaryCall<Req, Rep> {
  return (call, callback) => {
    const started = process.hrtime.bigint();
    const controller = new AbortController();
    call.on("cancelled", () => controller.abort(new Error(`${method} cancelled by the client or its deadline`)));
    const deadlineValue = call.getDeadline();
    const deadline =
      deadlineValue instanceof Date
        ? deadlineValue.getTime()
        : Number.isFinite(deadlineValue)
          ? deadlineValue
          : undefined;
    const ctx: CallContext = {
      signal: controller.signal,
      deadline,
      tenantId: metadataString(call.metadata, "tenant_id") ?? "default",
      traceparent: metadataString(call.metadata, "traceparent"),
    };
    const finish = (code: grpc.status) => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      deps.metrics.observeRequest(method, grpc.status[code] ?? String(code), seconds);
      return seconds;
    };
    // A server span per call (tracing on) continuing the client's trace from its traceparent.
    const attributes = { "rpc.system": "grpc", "rpc.method": method, "sluice.tenant": ctx.tenantId };
    withSpan(method, { kind: SpanKind.SERVER, attributes, parent: contextFromTraceparent(ctx.traceparent) }, () =>
      handle(call.request, ctx),
    ).then(
      (reply) => {
        const seconds = finish(grpc.status.OK);
        deps.logger.debug({ method, code: "OK", tenant: ctx.tenantId, traceparent: ctx.traceparent, seconds }, method);
        callback(null, reply);
      },
      (err: unknown) => {
        // A cancelled call has no one to answer; its status is CANCELLED for the record.
        const status = controller.signal.aborted
          ? { code: grpc.status.CANCELLED, details: "cancelled" }
          : toServiceError(err);
        const code = status.code ?? grpc.status.INTERNAL;
        const seconds = finish(code);
        const level = code === grpc.status.INTERNAL ? "error" : "info";
        deps.logger[level](
          {
            method,
            code: grpc.status[code],
            tenant: ctx.tenantId,
            traceparent: ctx.traceparent,
            seconds,
            err: err instanceof Error ? err.message : String(err),
          },
          `${method} failed`,
        );
        callback(status, null);
      },
    );
  };
}
