import type { PoliteHttp } from "../http/polite-http.ts";

/** The scholarly APIs Sluice reads. */
export const LITERATURE_SOURCES = ["clinicaltrials", "openalex", "pmc", "unpaywall"] as const;
export type LiteratureSourceType = (typeof LITERATURE_SOURCES)[number];

/**
 * Identifiers and bibliography of one record, kept as the document's metadata.
 *
 * @example
 * const meta: LiteratureMeta = { source: "openalex", openalexId: "W2741809807", doi: "10.7717/peerj.4375" };
 */
export interface LiteratureMeta {
  source: LiteratureSourceType;
  nct?: string;
  /** Lower-case, without the `https://doi.org/` prefix. */
  doi?: string;
  pmid?: string;
  /** With its `PMC` prefix. */
  pmcid?: string;
  /** The short id (`W…`), without the `https://openalex.org/` prefix. */
  openalexId?: string;
  authors?: string[];
  /** Publication (or study start) date, ISO 8601. */
  published?: string;
  /** When the API last changed the record, ISO 8601: the watermark of incremental runs. */
  updated?: string;
  license?: string;
  /** The record's page for people (landing page, study page). */
  url?: string;
  /** An open-access PDF of the full text, for the download stage. */
  pdfUrl?: string;
  /** The conditions a clinical study is about (ClinicalTrials.gov `Condition`), for filtering. */
  conditions?: string[];
  /** Unpaywall's open-access status: `gold`, `hybrid`, `bronze`, `green`, `diamond` or `closed`. */
  oaStatus?: string;
}

/**
 * One record as a document: a stable id (the source's own: NCT…, W…, PMC…, a DOI), the text to
 * index (abstract, summary or full text) and its metadata.
 *
 * @example
 * const meta: LiteratureMeta = { source: "clinicaltrials", nct: "NCT02513394" };
 * const record: SourceRecord = { id: "NCT02513394", title: "…", text: "…", meta };
 */
export interface SourceRecord {
  id: string;
  title: string;
  /** May be empty when `meta.pdfUrl` is set: the download stage fetches the full text. */
  text: string;
  meta: LiteratureMeta;
}

/**
 * What a run asks a source for. `query` is the source's free-text search, `ids` fetches records by
 * id instead, `params` are further API parameters passed as they are (e.g. `query.cond` for
 * ClinicalTrials.gov, `filter` for OpenAlex).
 *
 * @example
 * const query: SourceQuery = { query: "Phelan-McDermid Syndrome", pageSize: 5 };
 */
export interface SourceQuery {
  query?: string;
  ids?: string[];
  /** Only records changed on or after this date (ISO 8601). */
  since?: string;
  /** Stop after this many records in all. */
  limit?: number;
  pageSize?: number;
  params?: Record<string, string>;
}

/** One page of records and the cursor of the next (null: this was the last). */
export interface SourcePage {
  records: SourceRecord[];
  next: string | null;
}

/** What an adapter gets to call its API with. */
export interface SourceContext {
  http: PoliteHttp;
  signal?: AbortSignal;
}

/**
 * A scholarly API as Sluice reads it: one page at a time from a cursor, so a run can store the
 * cursor after each page and resume from it. Adapters hold only their config (base URL, contact,
 * key variable); the HTTP client with its limits comes in the context.
 *
 * @example
 * let cursor: string | null = null;
 * do {
 *   const page = await source.fetchPage({ query: "stem cells" }, cursor, { http, signal });
 *   cursor = page.next;
 * } while (cursor !== null);
 */
export interface LiteratureSource {
  readonly type: LiteratureSourceType;
  /** The first page when `cursor` is null; throws SOURCE_REJECTED quoting the API's reason for a bad request. */
  fetchPage(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage>;
}
