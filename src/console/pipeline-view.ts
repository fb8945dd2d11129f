export type { PipelineView } from "../contracts/pipeline-view.ts";

/** A policy in a few words: "3 tries, 2 min timeout, breaker after 5, 10/s". */
export function policySummary(spec: Record<string, unknown> | undefined): string {
  if (!spec) return "";
  const parts: string[] = [];
  const retry = spec["retry"] as { attempts?: number } | undefined;
  if (retry) parts.push(`${retry.attempts ?? 3} tries`);
  const timeout = spec["timeoutMs"];
  if (typeof timeout === "number")
    parts.push(timeout >= 60_000 ? `${Math.round(timeout / 60_000)} min timeout` : `${timeout / 1000} s timeout`);
  const breaker = spec["breaker"] as { threshold?: number } | undefined;
  if (breaker) parts.push(`breaker after ${breaker.threshold ?? 5}`);
  const rate = spec["rateLimit"] as { perSecond?: number } | undefined;
  if (rate?.perSecond) parts.push(`${rate.perSecond}/s`);
  return parts.join(", ");
}
