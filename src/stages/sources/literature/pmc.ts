import { SluiceError } from "../../../contracts/errors.ts";
import { apiReason, type HttpReply } from "../http/polite-http.ts";
import { attr, childrenOf, find, findAll, jatsToRecord, parseXml, textOf } from "./jats.ts";
import type { LiteratureSource, SourceContext, SourcePage, SourceQuery, SourceRecord } from "./literature-source.ts";

/**
 * Where PMC is asked and who asks. NCBI asks software to send `tool` and `email`; an `apiKey`
 * raises E-utilities' limit from 3 to 10 calls per second (set the host's limit in PoliteHttp to
 * match).
 *
 * @example
 * const options: PmcSourceOptions = { tool: "sluice", email: "me@example.org", apiKey: process.env.NCBI_API_KEY };
 */
export interface PmcSourceOptions {
  /** E-utilities; default `https://eutils.ncbi.nlm.nih.gov/entrez/eutils`. */
  baseUrl?: string;
  /** The PMC OA Web Service; default `https://www.ncbi.nlm.nih.gov/pmc/utils/oa`. */
  oaBaseUrl?: string;
  apiKey?: string;
  tool?: string;
  email?: string;
}

/** A package of an open-access article from the OA Web Service. */
export interface OpenAccessLink {
  pmcid: string;
  format: "pdf" | "tgz";
  href: string;
  /** The article's licence as the OA service names it (`CC BY`), when it does. */
  license?: string;
}

const IDS_PAGE_SIZE = 20;

/** `PMC3040717`, `pmc3040717` or `3040717` → `3040717`; anything else is refused. */
function pmcNumber(id: string): string {
  const match = /^(?:PMC)?(\d+)$/i.exec(id.trim());
  if (!match) {
    throw new SluiceError("VALIDATION_FAILED", `not a PMC id: "${id}" (expected PMC followed by digits, or digits)`, {
      details: { id },
    });
  }
  return match[1]!;
}

/** `2024-06-06` or `2024-06-06T10:00:00Z` → `2024/06/06`, the form E-utilities' date filters read. */
function eutilsDate(iso: string): string {
  const match = /^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?/.exec(iso);
  if (!match) throw new SluiceError("VALIDATION_FAILED", `since: not an ISO date: "${iso}"`);
  return match.slice(1).filter(Boolean).join("/");
}

/**
 * PubMed Central through NCBI's E-utilities: `esearch` finds PMC ids for a query, `efetch` returns
 * each article's JATS XML, which becomes a record whose text is the abstract and the body (see
 * {@link jatsToRecord}). `query.ids` (PMCIDs) skips the search. The cursor is the offset into the
 * search's results (or into `ids`). `since` filters on the modification date (`datetype=mdat`).
 * An id efetch has no article for fails the page with SOURCE_REJECTED quoting E-utilities' reason.
 * {@link PmcSource.openAccessLink} asks the OA Web Service for an article's PDF or tgz package.
 *
 * @example
 * const pmc = new PmcSource({ tool: "sluice", email: "me@example.org" });
 * const page = await pmc.fetchPage({ query: "stem cells AND hasabstract", pageSize: 20 }, null, { http });
 */
export class PmcSource implements LiteratureSource {
  readonly type = "pmc" as const;
  readonly #options: PmcSourceOptions;

  constructor(options: PmcSourceOptions = {}) {
    this.#options = options;
  }

  get #base(): string {
    return (this.#options.baseUrl ?? "https://eutils.ncbi.nlm.nih.gov/entrez/eutils").replace(/\/+$/, "");
  }

  /** `db=pmc`, the caller's parameters, then NCBI's identification (only what is configured). */
  #params(params: Record<string, string>): URLSearchParams {
    const search = new URLSearchParams({ db: "pmc", ...params });
    const { apiKey, tool, email } = this.#options;
    if (apiKey) search.set("api_key", apiKey);
    if (tool) search.set("tool", tool);
    if (email) search.set("email", email);
    return search;
  }

  async fetchPage(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    const start = cursor === null ? 0 : Number(cursor);
    if (!Number.isInteger(start) || start < 0) {
      throw new SluiceError("VALIDATION_FAILED", `pmc: not a cursor of this source: "${cursor}"`);
    }
    if (query.ids) return this.#idsPage(query, start, ctx);
    if (!query.query) {
      throw new SluiceError("VALIDATION_FAILED", "pmc: give a search (query) or PMC ids (ids)");
    }
    const params: Record<string, string> = { ...query.params, term: query.query };
    // The first page asks as little as it needs to: no retstart, and retmax only when a size is set.
    if (cursor !== null) params["retstart"] = String(start);
    const size = Math.min(query.pageSize ?? Infinity, (query.limit ?? Infinity) - start);
    if (size <= 0) return { records: [], next: null };
    if (Number.isFinite(size)) params["retmax"] = String(size);
    if (query.since) Object.assign(params, { datetype: "mdat", mindate: eutilsDate(query.since), maxdate: "3000" });
    const reply = await this.#get(`${this.#base}/esearch.fcgi?${this.#params(params).toString()}`, ctx, "esearch");
    const root = find(await parseXml(reply.body), "eSearchResult");
    const error = textOf(root && childrenOf(root, "ERROR")[0]);
    if (!root || error) {
      throw new SluiceError(
        "SOURCE_REJECTED",
        `pmc: esearch refused "${query.query}": ${error || "no eSearchResult"}`,
        {
          details: { query: query.query },
        },
      );
    }
    const count = Number(textOf(childrenOf(root, "Count")[0]));
    const ids = findAll(childrenOf(root, "IdList"), "Id").map(textOf);
    const records: SourceRecord[] = [];
    for (const id of ids) records.push(await this.#fetchArticle(id, ctx));
    const reached = start + ids.length;
    const more = ids.length > 0 && reached < count && reached < (query.limit ?? Infinity);
    return { records, next: more ? String(reached) : null };
  }

  async #idsPage(query: SourceQuery, start: number, ctx: SourceContext): Promise<SourcePage> {
    const ids = (query.ids ?? []).slice(0, query.limit);
    const end = Math.min(ids.length, start + (query.pageSize ?? IDS_PAGE_SIZE));
    const records: SourceRecord[] = [];
    for (const id of ids.slice(start, end)) records.push(await this.#fetchArticle(pmcNumber(id), ctx));
    return { records, next: end < ids.length ? String(end) : null };
  }

  /** One article's JATS (one id a call: a missing id then names itself). */
  async #fetchArticle(id: string, ctx: SourceContext): Promise<SourceRecord> {
    const url = `${this.#base}/efetch.fcgi?${this.#params({ id, rettype: "xml" }).toString()}`;
    const reply = await this.#get(url, ctx, `efetch PMC${id}`);
    const tree = await parseXml(reply.body);
    const article = find(tree, "article");
    if (!article) {
      const reason = textOf(find(tree, "error") ?? find(tree, "ERROR")) || "no <article> in the reply";
      throw new SluiceError("SOURCE_REJECTED", `pmc: efetch has no article PMC${id}: ${reason}`, {
        details: { pmcid: `PMC${id}` },
      });
    }
    return jatsToRecord(article, id);
  }

  /**
   * The article's open-access package from the OA Web Service: the PDF when there is one, else the
   * tgz (JATS, figures, PDF). Throws NOT_OPEN_ACCESS quoting the service (`idIsNotOpenAccess`: the
   * article is in PMC but not in its OA subset; efetch may still return its text), SOURCE_REJECTED
   * for the service's other in-band errors (an unknown id).
   *
   * @example
   * const { href } = await pmc.openAccessLink("PMC5334499", { http }); // "https://ftp.ncbi.nlm.nih.gov/pub/pmc/…pdf"
   */
  async openAccessLink(pmcid: string, ctx: SourceContext): Promise<OpenAccessLink> {
    const id = `PMC${pmcNumber(pmcid)}`;
    const base = (this.#options.oaBaseUrl ?? "https://www.ncbi.nlm.nih.gov/pmc/utils/oa").replace(/\/+$/, "");
    const reply = await this.#get(`${base}/oa.fcgi?${new URLSearchParams({ id }).toString()}`, ctx, `oa.fcgi ${id}`);
    const tree = await parseXml(reply.body);
    const error = find(tree, "error");
    if (error) {
      const code = attr(error, "code") ?? "error";
      const message = `${id}: PMC OA service: ${textOf(error)} (${code})`;
      throw new SluiceError(code === "idIsNotOpenAccess" ? "NOT_OPEN_ACCESS" : "SOURCE_REJECTED", message, {
        details: { pmcid: id, code },
      });
    }
    const record = find(tree, "record");
    const links = record ? childrenOf(record, "link") : [];
    const link = links.find((l) => attr(l, "format") === "pdf") ?? links.find((l) => attr(l, "format") === "tgz");
    const href = link && attr(link, "href");
    if (!record || !link || !href) {
      throw new SluiceError("NOT_OPEN_ACCESS", `${id}: PMC OA service lists no PDF or tgz package`, {
        details: { pmcid: id },
      });
    }
    const license = attr(record, "license");
    return { pmcid: id, format: attr(link, "format") as "pdf" | "tgz", href, ...(license ? { license } : {}) };
  }

  /** A 4xx becomes SOURCE_REJECTED with the API's reason; 429 and 5xx were PoliteHttp's to retry. */
  async #get(url: string, ctx: SourceContext, what: string): Promise<HttpReply> {
    const reply = await ctx.http.get(url, { accept: "application/xml, text/xml", signal: ctx.signal });
    if (reply.status >= 300) {
      throw new SluiceError("SOURCE_REJECTED", `pmc: ${what} answered ${reply.status}: ${apiReason(reply)}`, {
        details: { status: reply.status },
      });
    }
    return reply;
  }
}
