import type { StageContext } from "../../pipeline/define-stage.ts";
import type { ModelCallOptions, ModelParams } from "../../models/ports.ts";

/**
 * What a model stage hands every model call: its signal, the attempt's deadline, trace and tenant,
 * and the stage's model parameters.
 *
 * @example
 * await embedder.embed(texts, { ...modelCallOptions(ctx, params), kind: "passage" });
 */
export function modelCallOptions(ctx: StageContext, params: ModelParams): ModelCallOptions {
  return {
    signal: ctx.signal,
    params,
    ...(ctx.deadline !== undefined ? { deadline: ctx.deadline } : {}),
    ...(ctx.traceparent ? { traceparent: ctx.traceparent } : {}),
    ...(ctx.tenantId ? { tenantId: ctx.tenantId } : {}),
  };
}
