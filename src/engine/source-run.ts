import { createHash } from "node:crypto";
import { z } from "zod";
import type { DocumentRef } from "../contracts/index.ts";
import type { SourceCursor } from "../ledger/ledger.ts";
import type { PoliteHttp } from "../stages/sources/http/polite-http.ts";
import type { LiteratureSource, SourceQuery, SourceRecord } from "../stages/sources/literature/literature-source.ts";

/**
 * What a source run asks for (`POST /v1/jobs` `source`, `sluice ingest --source`): the source type
 * and its query (free text, ids, or API parameters), optionally bounded by `since` and `limit`.
 *
 * @example
 * SourceSpecSchema.parse({ type: "openalex", query: "stem cells", limit: 500 });
 */
export const SourceSpecSchema = z
  .object({
    type: z.string().min(1),
    query: z.string().min(1).optional(),
    ids: z.array(z.string().min(1)).min(1).max(10_000).optional(),
    /** Only records changed on or after this date; default: the previous complete run's watermark. */
    since: z
      .string()
      .regex(/^\d{4}-\d{2}-\d{2}/, "an ISO 8601 date, e.g. 2024-01-31")
      .optional(),
    /** Records at most, in this run. */
    limit: z.number().int().positive().optional(),
    pageSize: z.number().int().positive().max(1000).optional(),
    /** Further API parameters, passed as they are (e.g. `query.cond`, `filter`). */
    params: z.record(z.string(), z.string()).optional(),
  })
  .strict()
  .refine((s) => s.query !== undefined || s.ids !== undefined || Object.keys(s.params ?? {}).length > 0, {
    message: "give a query, ids or params",
  });
export type SourceSpec = z.infer<typeof SourceSpecSchema>;

/**
 * The identity of a query, for its saved cursor and watermark: type, query, ids and params (not
 * `since`, `limit` or `pageSize`, which bound one run of the same query).
 *
 * @example
 * sourceQueryKey({ type: "pmc", query: "stem cells" }); // "3f1c…" (hex sha256)
 */
export function sourceQueryKey(spec: SourceSpec): string {
  const params = Object.entries(spec.params ?? {}).sort(([a], [b]) => a.localeCompare(b));
  const canonical = JSON.stringify([spec.type, spec.query ?? null, spec.ids ?? null, params]);
  return createHash("sha256").update(canonical).digest("hex");
}

/**
 * A record as a document, with the record's identifiers as metadata: with `pdfs` (the pipeline
 * downloads), a record with a PDF address becomes a `url` document (the full text, not the
 * abstract); otherwise its text inline; null when it has neither.
 */
export function recordToRef(type: string, record: SourceRecord, pdfs = false): DocumentRef | null {
  const pdfUrl = record.meta.pdfUrl;
  if (pdfs && typeof pdfUrl === "string" && pdfUrl !== "")
    return {
      id: record.id,
      source: `${type}:${record.id}`,
      kind: "url",
      url: pdfUrl,
      ...(record.title ? { title: record.title } : {}),
      meta: { ...record.meta },
    };
  if (record.text.trim() === "") return null;
  return {
    id: record.id,
    source: `${type}:${record.id}`,
    kind: "inline",
    text: record.text,
    ...(record.title ? { title: record.title } : {}),
    mediaType: "text/plain",
    meta: { ...record.meta },
  };
}

/** What one source run did. */
export interface SourceRunResult {
  /** Records the API returned (within `limit`). */
  fetched: number;
  /** Records without text, not admitted, with the reason (PDF-only ones too, unless the pipeline downloads). */
  skipped: Array<{ id: string; reason: string }>;
  /** The cursor the run started from (a run that died before resumes), or null. */
  resumedFrom: string | null;
  /** The `since` the run used: given, or the previous complete run's watermark. */
  since: string | null;
  /** Where the next run of this query starts: null when this run reached the end. */
  cursor: string | null;
  /** The newest record update date seen by complete runs (the next run's `since`). */
  watermark: string | null;
}

function newer(a: string | null, b: string | undefined): string | null {
  if (b === undefined || b === "") return a;
  return a === null || b > a ? b : a;
}

/**
 * Pages through a source from where the last run of the same query stopped: each page's records
 * are admitted (durably, by `admit`) before the cursor after it is saved, so a run that dies
 * resumes there and loses nothing; a record admitted twice is one document (same id). A run that
 * reaches the end saves the newest update date it saw as the watermark, the next run's `since`.
 * With `limit`, a page cut short is fetched again by the next run (its cursor is not passed).
 *
 * @example
 * const result = await runSourcePages({ source, http, spec, saved, admit, save, signal });
 */
export async function runSourcePages(options: {
  source: LiteratureSource;
  http: PoliteHttp;
  spec: SourceSpec;
  saved: SourceCursor | null;
  /** The pipeline starts with `source.download`: PDF-only records are admitted as url documents. */
  pdfs?: boolean;
  admit: (refs: DocumentRef[]) => Promise<unknown>;
  save: (state: { cursor: string | null; watermark: string | null }) => Promise<void>;
  signal?: AbortSignal;
}): Promise<SourceRunResult> {
  const { source, http, spec, saved, signal } = options;
  const previousWatermark = saved?.watermark ?? null;
  const since = spec.since ?? previousWatermark;
  const query: SourceQuery = {
    ...(spec.query !== undefined ? { query: spec.query } : {}),
    ...(spec.ids !== undefined ? { ids: spec.ids } : {}),
    ...(since !== null ? { since } : {}),
    ...(spec.limit !== undefined ? { limit: spec.limit } : {}),
    ...(spec.pageSize !== undefined ? { pageSize: spec.pageSize } : {}),
    ...(spec.params !== undefined ? { params: spec.params } : {}),
  };
  const resumedFrom = saved?.cursor ?? null;
  let cursor = resumedFrom;
  let fetched = 0;
  let seen: string | null = null;
  const skipped: SourceRunResult["skipped"] = [];
  for (;;) {
    signal?.throwIfAborted();
    const page = await source.fetchPage(query, cursor, { http, ...(signal ? { signal } : {}) });
    const room = spec.limit === undefined ? page.records.length : spec.limit - fetched;
    const records = page.records.slice(0, Math.max(0, room));
    const refs: DocumentRef[] = [];
    for (const record of records) {
      seen = newer(seen, record.meta.updated);
      const ref = recordToRef(source.type, record, options.pdfs);
      if (ref) refs.push(ref);
      else {
        const pdf = record.meta.pdfUrl
          ? ` (a PDF at ${String(record.meta.pdfUrl)}: ingest with a pipeline that downloads, e.g. pdf-two-phase)`
          : "";
        skipped.push({ id: record.id, reason: `no text to index${pdf}` });
      }
    }
    if (refs.length > 0) await options.admit(refs);
    fetched += records.length;
    const cutShort = records.length < page.records.length;
    const next = cutShort ? cursor : page.next;
    if (next === null) {
      const watermark = newer(previousWatermark, seen ?? undefined);
      await options.save({ cursor: null, watermark });
      return { fetched, skipped, resumedFrom, since, cursor: null, watermark };
    }
    await options.save({ cursor: next, watermark: previousWatermark });
    if (cutShort || (spec.limit !== undefined && fetched >= spec.limit)) {
      return { fetched, skipped, resumedFrom, since, cursor: next, watermark: previousWatermark };
    }
    cursor = next;
  }
}
