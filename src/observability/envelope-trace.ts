import type { EnvelopeV1 } from "../contracts/envelope.ts";

/**
 * The `meta` key under which the gate stores the W3C traceparent of the request or ingest that
 * admitted a document, so that the document's run continues that trace in whichever worker
 * leases it. Namespaced so it cannot clash with a user's own metadata; the envelope format (v1)
 * is unchanged, `meta` being an open map.
 */
export const TRACEPARENT_META_KEY = "sluice.traceparent";

/**
 * `meta` with the traceparent added (the same object when there is none to add).
 *
 * @example
 * const meta = withTraceparent(ref.meta, activeTraceparent());
 */
export function withTraceparent(
  meta: Record<string, unknown>,
  traceparent: string | undefined,
): Record<string, unknown> {
  return traceparent ? { ...meta, [TRACEPARENT_META_KEY]: traceparent } : meta;
}

/**
 * The traceparent the gate stored in an envelope, if any.
 *
 * @example
 * const parent = contextFromTraceparent(storedTraceparent(envelope));
 */
export function storedTraceparent(envelope: EnvelopeV1): string | undefined {
  const value = envelope.meta[TRACEPARENT_META_KEY];
  return typeof value === "string" ? value : undefined;
}

/**
 * The envelope without the stored traceparent: trace plumbing is not document metadata, and must
 * not reach the index (nor make a re-ingested document look changed).
 *
 * @example
 * const ref = envelopeToRef(withoutTraceparent(envelope));
 */
export function withoutTraceparent(envelope: EnvelopeV1): EnvelopeV1 {
  if (!(TRACEPARENT_META_KEY in envelope.meta)) return envelope;
  const { [TRACEPARENT_META_KEY]: _dropped, ...meta } = envelope.meta;
  return { ...envelope, meta };
}
