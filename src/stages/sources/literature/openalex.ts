import { SluiceError } from "../../../contracts/errors.ts";
import { apiReason, type HttpReply } from "../http/polite-http.ts";
import type {
  LiteratureMeta,
  LiteratureSource,
  SourceContext,
  SourcePage,
  SourceQuery,
  SourceRecord,
} from "./literature-source.ts";

/**
 * Where OpenAlex is and who asks.
 *
 * @example
 * const options: OpenAlexOptions = { mailto: "me@example.org", apiKey: process.env.OPENALEX_API_KEY };
 */
export interface OpenAlexOptions {
  /** Default `https://api.openalex.org`. */
  baseUrl?: string;
  /** Sent as `mailto` (OpenAlex's polite pool). */
  mailto?: string;
  /** The key itself, sent as `api_key`; the caller reads it from the environment. Never quoted in errors. */
  apiKey?: string;
}

/** The parts of an OpenAlex work the adapter reads. */
interface Work {
  id?: string;
  doi?: string | null;
  title?: string | null;
  display_name?: string | null;
  ids?: { pmid?: string; pmcid?: string };
  authorships?: Array<{ author?: { display_name?: string | null } }>;
  publication_date?: string | null;
  updated_date?: string | null;
  abstract_inverted_index?: Record<string, number[]> | null;
  best_oa_location?: { license?: string | null; pdf_url?: string | null } | null;
  primary_location?: { license?: string | null; landing_page_url?: string | null } | null;
}

const NAME = "OpenAlex";
const DEFAULT_PAGE_SIZE = 200;

/**
 * OpenAlex works as a literature source: one work is one record (id: its short `W…` id; text: the
 * abstract rebuilt from `abstract_inverted_index`).
 *
 * - A search (`query.query` → `search`, `query.params` as they are, e.g. `filter`) pages with
 *   cursors: `cursor=*` first, then `meta.next_cursor`, until it is null or a page is empty.
 *   `per_page` is `query.pageSize` (default 200), shrunk to `query.limit`; the runner stops after
 *   `limit` records in all.
 * - `query.since` appends `from_updated_date:<since>` to `filter` (OpenAlex allows that filter only
 *   with an API key).
 * - `query.ids` fetches `/works/{id}`, one id a page (the cursor is the index of the next id): `W…`
 *   ids, DOIs (bare, `doi:` or `https://doi.org/…`, looked up as `https://doi.org/<doi>` with `/`
 *   escaped), and `pmid:`/`pmcid:` ids. Only `params.select` applies to a lookup.
 * - `mailto` and `api_key` go with every request when configured.
 *
 * 400/401/403 answers (JSON `{error, message}`) become SOURCE_REJECTED quoting `message`; a 404 (an
 * HTML page) becomes SOURCE_REJECTED "OpenAlex has no work <id>".
 *
 * @example
 * const source = new OpenAlexSource({ mailto: "me@example.org" });
 * const page = await source.fetchPage({ query: "stem cells", params: { filter: "is_oa:true" } }, null, { http });
 */
export class OpenAlexSource implements LiteratureSource {
  readonly type = "openalex" as const;
  readonly options: OpenAlexOptions;

  constructor(options: OpenAlexOptions = {}) {
    this.options = options;
  }

  get #base(): string {
    return (this.options.baseUrl ?? "https://api.openalex.org").replace(/\/+$/, "");
  }

  fetchPage(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    return query.ids ? this.#byId(query, cursor, ctx) : this.#search(query, cursor, ctx);
  }

  async #search(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    const params = new URLSearchParams();
    if (query.query) params.set("search", query.query);
    for (const [key, value] of Object.entries(query.params ?? {})) params.set(key, value);
    if (query.since) {
      const given = params.get("filter");
      params.set("filter", [given, `from_updated_date:${query.since}`].filter(Boolean).join(","));
    }
    const size = query.pageSize ?? DEFAULT_PAGE_SIZE;
    params.set("per_page", String(Math.max(1, query.limit !== undefined ? Math.min(size, query.limit) : size)));
    params.set("cursor", cursor ?? "*");
    const url = `${this.#base}/works?${this.#withContact(params).toString()}`;
    const reply = await ctx.http.get(url, { accept: "application/json", signal: ctx.signal });
    if (reply.status !== 200) throw rejected(reply, url);
    const body = parse<{ results?: Work[]; meta?: { next_cursor?: string | null } }>(reply, url);
    const results = body.results ?? [];
    return {
      records: results.flatMap((work) => toRecord(work) ?? []),
      next: results.length > 0 && body.meta?.next_cursor ? body.meta.next_cursor : null,
    };
  }

  async #byId(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    const ids = query.ids ?? [];
    const index = cursor === null ? 0 : Number(cursor);
    if (!Number.isInteger(index) || index < 0) {
      throw new SluiceError("VALIDATION_FAILED", `${NAME}: "${cursor}" is not a cursor of a lookup by id`);
    }
    const id = ids[index]?.trim();
    if (id === undefined) return { records: [], next: null };
    const params = new URLSearchParams();
    if (query.params?.select) params.set("select", query.params.select);
    const search = this.#withContact(params).toString();
    const url = `${this.#base}/works/${workPath(id)}${search ? `?${search}` : ""}`;
    const reply = await ctx.http.get(url, { accept: "application/json", signal: ctx.signal });
    if (reply.status === 404) {
      throw new SluiceError("SOURCE_REJECTED", `${NAME} has no work ${id} (${redact(url)})`, {
        details: { source: "openalex", status: reply.status, url: redact(url), id },
      });
    }
    if (reply.status !== 200) throw rejected(reply, url);
    const record = toRecord(parse<Work>(reply, url));
    return { records: record ? [record] : [], next: index + 1 < ids.length ? String(index + 1) : null };
  }

  #withContact(params: URLSearchParams): URLSearchParams {
    if (this.options.mailto) params.set("mailto", this.options.mailto);
    if (this.options.apiKey) params.set("api_key", this.options.apiKey);
    return params;
  }
}

/**
 * The path of one work under `/works/`: a `W…` id, a DOI as `https://doi.org/<doi>` with its `/`
 * escaped as OpenAlex's own examples do (`https://doi.org/10.1073%2Fpnas.1414271111`), or an
 * external id with its namespace (`pmid:…`, `pmcid:…`).
 */
function workPath(id: string): string {
  const openalex = /^(?:https?:\/\/openalex\.org\/)?(w\d+)$/i.exec(id);
  if (openalex) return openalex[1]!.toUpperCase();
  const doi = /^(?:doi:|https?:\/\/(?:dx\.)?doi\.org\/)?(10\.\S+)$/i.exec(id);
  if (doi) return `https://doi.org/${encodeURIComponent(doi[1]!.toLowerCase()).replace(/%3A/gi, ":")}`;
  if (/^(pmid|pmcid):\S+$/i.test(id)) return encodeURIComponent(id).replace(/%3A/gi, ":");
  throw new SluiceError("VALIDATION_FAILED", `${NAME}: "${id}" is not a W… id, a DOI, pmid:… or pmcid:…`);
}

/** The URL with the API key blanked: messages and details end up in logs. */
function redact(url: string): string {
  return url.replace(/([?&]api_key=)[^&]*/g, "$1***");
}

function rejected(reply: HttpReply, url: string): SluiceError {
  return new SluiceError("SOURCE_REJECTED", `${NAME}: ${apiReason(reply)} (${redact(url)})`, {
    details: { source: "openalex", status: reply.status, url: redact(url) },
  });
}

function parse<T>(reply: HttpReply, url: string): T {
  try {
    return JSON.parse(reply.body) as T;
  } catch (err) {
    throw new SluiceError(
      "SOURCE_REJECTED",
      `${NAME} answered ${reply.status} with a body that is not JSON (${redact(url)})`,
      {
        details: { source: "openalex", status: reply.status, url: redact(url) },
        cause: err,
      },
    );
  }
}

/**
 * The abstract, rebuilt from OpenAlex's inverted index (word → positions).
 *
 * @example
 * abstractText({ Hello: [0], world: [1, 3], again: [2] }); // "Hello world again world"
 */
export function abstractText(index: Record<string, number[]> | null | undefined): string {
  const words: string[] = [];
  for (const [word, positions] of Object.entries(index ?? {})) {
    for (const position of positions) words[position] = word;
  }
  // Positions without a word (an index with gaps) leave holes, which filter() skips.
  return words.filter(Boolean).join(" ");
}

function toRecord(work: Work): SourceRecord | undefined {
  const openalexId = work.id?.replace(/^https?:\/\/openalex\.org\//i, "");
  if (!openalexId) return undefined;
  const meta: LiteratureMeta = { source: "openalex", openalexId };
  const doi = work.doi?.replace(/^https?:\/\/(?:dx\.)?doi\.org\//i, "").toLowerCase();
  const pmid = /(\d+)\/?$/.exec(work.ids?.pmid ?? "")?.[1];
  const pmcid = /(?:PMC)?(\d+)\/?$/i.exec(work.ids?.pmcid ?? "")?.[1];
  const authors = (work.authorships ?? []).flatMap((a) => a.author?.display_name?.trim() || []);
  const license = work.best_oa_location?.license ?? work.primary_location?.license;
  const url = doi ? `https://doi.org/${doi}` : work.primary_location?.landing_page_url;
  if (doi) meta.doi = doi;
  if (pmid) meta.pmid = pmid;
  if (pmcid) meta.pmcid = `PMC${pmcid}`;
  if (authors.length) meta.authors = authors;
  if (work.publication_date) meta.published = work.publication_date;
  if (work.updated_date) meta.updated = work.updated_date;
  if (license) meta.license = license;
  if (url) meta.url = url;
  if (work.best_oa_location?.pdf_url) meta.pdfUrl = work.best_oa_location.pdf_url;
  return {
    id: openalexId,
    title: work.title ?? work.display_name ?? openalexId,
    text: abstractText(work.abstract_inverted_index),
    meta,
  };
}
