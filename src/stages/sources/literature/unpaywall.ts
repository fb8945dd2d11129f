import { SluiceError } from "../../../contracts/errors.ts";
import { apiReason } from "../http/polite-http.ts";
import type {
  LiteratureMeta,
  LiteratureSource,
  SourceContext,
  SourcePage,
  SourceQuery,
  SourceRecord,
} from "./literature-source.ts";

/**
 * Where Unpaywall is asked and the contact it requires on every call.
 *
 * @example
 * const options: UnpaywallSourceOptions = { email: "me@example.org" };
 */
export interface UnpaywallSourceOptions {
  /** Default `https://api.unpaywall.org/v2`. */
  baseUrl?: string;
  /** Required: Unpaywall refuses calls without one (and answers 422 to placeholders like test@example.com). */
  email: string;
}

/** The fields of an Unpaywall DOI object this adapter reads. */
interface UnpaywallWork {
  doi?: string;
  title?: string | null;
  is_oa?: boolean;
  oa_status?: string | null;
  published_date?: string | null;
  updated?: string | null;
  doi_url?: string | null;
  best_oa_location?: { url?: string | null; url_for_pdf?: string | null; license?: string | null } | null;
  z_authors?: Array<{ given?: string; family?: string; raw_author_name?: string }> | null;
}

const PAGE_SIZE = 25;

/** `https://doi.org/10.X/Y`, `doi:10.X/Y` or `10.X/Y` → `10.x/y`; anything else is refused. */
function normalizeDoi(doi: string): string {
  const bare = doi
    .trim()
    .replace(/^(?:https?:\/\/(?:dx\.)?doi\.org\/|doi:)/i, "")
    .toLowerCase();
  if (!/^10\.\d{4,9}\/\S+$/.test(bare)) {
    throw new SluiceError("VALIDATION_FAILED", `not a DOI: "${doi}" (expected 10.<registrant>/<suffix>)`, {
      details: { doi },
    });
  }
  return bare;
}

/** `given family` when Unpaywall splits the name (Crossref's authors), else the raw name. */
function authorName(author: { given?: string; family?: string; raw_author_name?: string }): string {
  const split = [author.given, author.family].filter((part) => part && part.trim()).join(" ");
  return (split || author.raw_author_name || "").trim();
}

/**
 * Unpaywall's open-access lookup, one DOI a call (`GET /v2/<doi>?email=…`). It only looks DOIs up:
 * `query.ids` are DOIs, and a `query.query` is refused with VALIDATION_FAILED before any call
 * (Unpaywall's own search endpoint is a title search that pages differently; search OpenAlex and
 * pass the DOIs here). The cursor is the index of the next DOI; a page is `pageSize` (25) DOIs.
 *
 * Unpaywall has no abstract: a record's `text` is empty and `meta.pdfUrl` (the best open-access
 * location's `url_for_pdf`, nothing weaker) is where the download stage fetches the full text.
 * A closed article is a record too, with `meta.oaStatus: "closed"` and no `pdfUrl`; the download
 * stage refuses it with {@link requireOpenAccess}. `since` keeps only records Unpaywall updated
 * on or after it. A 4xx (404 "… is an invalid doi", 422 for the email) fails the page with
 * SOURCE_REJECTED quoting Unpaywall's message.
 *
 * @example
 * const unpaywall = new UnpaywallSource({ email: "me@example.org" });
 * const page = await unpaywall.fetchPage({ ids: ["10.1073/pnas.1414271111"] }, null, { http });
 */
export class UnpaywallSource implements LiteratureSource {
  readonly type = "unpaywall" as const;
  readonly #options: UnpaywallSourceOptions;

  constructor(options: UnpaywallSourceOptions) {
    if (!options?.email || !options.email.includes("@")) {
      throw new SluiceError(
        "CONFIG_INVALID",
        `Unpaywall requires an email (unpaywall.email): it asks every call to carry one; got ${JSON.stringify(options?.email ?? null)}`,
      );
    }
    this.#options = options;
  }

  async fetchPage(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    if (query.query !== undefined || !query.ids) {
      throw new SluiceError("VALIDATION_FAILED", "unpaywall: search is not supported; pass DOIs (ids)", {
        details: { query: query.query },
      });
    }
    const start = cursor === null ? 0 : Number(cursor);
    if (!Number.isInteger(start) || start < 0) {
      throw new SluiceError("VALIDATION_FAILED", `unpaywall: not a cursor of this source: "${cursor}"`);
    }
    const dois = query.ids.slice(0, query.limit);
    const end = Math.min(dois.length, start + (query.pageSize ?? PAGE_SIZE));
    const records: SourceRecord[] = [];
    for (const doi of dois.slice(start, end)) {
      const record = await this.#lookup(normalizeDoi(doi), ctx);
      if (!query.since || (record.meta.updated ?? "") >= query.since) records.push(record);
    }
    return { records, next: end < dois.length ? String(end) : null };
  }

  async #lookup(doi: string, ctx: SourceContext): Promise<SourceRecord> {
    const base = (this.#options.baseUrl ?? "https://api.unpaywall.org/v2").replace(/\/+$/, "");
    // The DOI's slashes stay as they are (Unpaywall's own URLs); each segment is encoded.
    const path = doi.split("/").map(encodeURIComponent).join("/");
    const url = `${base}/${path}?${new URLSearchParams({ email: this.#options.email }).toString()}`;
    const reply = await ctx.http.get(url, { accept: "application/json", signal: ctx.signal });
    if (reply.status >= 300) {
      throw new SluiceError("SOURCE_REJECTED", `unpaywall: ${doi} answered ${reply.status}: ${apiReason(reply)}`, {
        details: { doi, status: reply.status },
      });
    }
    let work: UnpaywallWork;
    try {
      work = JSON.parse(reply.body) as UnpaywallWork;
    } catch (err) {
      throw new SluiceError("SOURCE_REJECTED", `unpaywall: ${doi}: the answer is not JSON`, { cause: err });
    }
    const best = work.best_oa_location ?? undefined;
    const authors = (work.z_authors ?? []).map(authorName).filter(Boolean);
    const meta: LiteratureMeta = {
      source: "unpaywall",
      doi: work.doi?.toLowerCase() ?? doi,
      authors: authors.length > 0 ? authors : undefined,
      published: work.published_date ?? undefined,
      updated: work.updated ?? undefined,
      license: best?.license ?? undefined,
      url: work.doi_url ?? `https://doi.org/${doi}`,
      pdfUrl: best?.url_for_pdf ?? undefined,
      oaStatus: work.oa_status ?? (work.is_oa === false ? "closed" : undefined),
    };
    return {
      id: meta.doi!,
      title: work.title ?? "",
      text: "",
      meta: Object.fromEntries(Object.entries(meta).filter(([, v]) => v !== undefined)) as LiteratureMeta,
    };
  }
}

/**
 * The record's open-access PDF, or NOT_OPEN_ACCESS saying why there is none: the download stage
 * calls it before fetching an Unpaywall record's full text.
 *
 * @example
 * const pdf = requireOpenAccess(record); // closed: NOT_OPEN_ACCESS "10.1023/a:1007154515475 has no open-access copy…"
 */
export function requireOpenAccess(record: SourceRecord): string {
  const { pdfUrl, oaStatus, url } = record.meta;
  if (pdfUrl) return pdfUrl;
  const details = { id: record.id, oaStatus };
  const why =
    oaStatus === undefined
      ? "no PDF link known"
      : oaStatus === "closed"
        ? "Unpaywall: closed"
        : `Unpaywall: ${oaStatus}, landing page only${url ? `: ${url}` : ""}`;
  const what = oaStatus === undefined || oaStatus === "closed" ? "copy" : "PDF";
  throw new SluiceError("NOT_OPEN_ACCESS", `${record.id} has no open-access ${what} (${why})`, { details });
}
