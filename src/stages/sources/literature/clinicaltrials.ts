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

/** The fields a search asks for by default: the list of the recorded requests (see the replay fixtures). */
export const CLINICALTRIALS_DEFAULT_FIELDS: readonly string[] = [
  "NCTId",
  "BriefTitle",
  "OverallStatus",
  "Phase",
  "StudyType",
  "Condition",
  "InterventionName",
  "LeadSponsorName",
  "EnrollmentCount",
  "BriefSummary",
  "StartDate",
  "CompletionDate",
  "MinimumAge",
  "MaximumAge",
];

/**
 * Where ClinicalTrials.gov is and what to ask it for.
 *
 * @example
 * const options: ClinicalTrialsOptions = { fields: [...CLINICALTRIALS_DEFAULT_FIELDS, "DetailedDescription"] };
 */
export interface ClinicalTrialsOptions {
  /** Default `https://clinicaltrials.gov/api/v2`. */
  baseUrl?: string;
  /**
   * The `fields` of a search; default {@link CLINICALTRIALS_DEFAULT_FIELDS}. Lookups by id send them
   * only when set here, else they get the full record.
   */
  fields?: string[];
}

/** The parts of a v2 study record the adapter reads. */
interface Study {
  protocolSection?: {
    identificationModule?: { nctId?: string; briefTitle?: string; officialTitle?: string };
    statusModule?: { startDateStruct?: { date?: string }; lastUpdatePostDateStruct?: { date?: string } };
    descriptionModule?: { briefSummary?: string; detailedDescription?: string };
    conditionsModule?: { conditions?: string[] };
    armsInterventionsModule?: { interventions?: Array<{ name?: string }> };
    contactsLocationsModule?: { overallOfficials?: Array<{ name?: string }> };
  };
}

const NAME = "ClinicalTrials.gov";
const DEFAULT_PAGE_SIZE = 100;

/**
 * ClinicalTrials.gov API v2 as a literature source: one study is one record (id: its NCT number;
 * text: the brief summary, the detailed description, and a line each of conditions and
 * interventions).
 *
 * - A search (`query.query` → `query.term`, `query.params` as they are, e.g. `query.cond`,
 *   `query.intr`) pages with the API's `nextPageToken`; every page repeats the first page's
 *   parameters, `countTotal=true` included (as the recorded requests do; the API ignores it after the
 *   first page).
 * - `query.ids` (NCT numbers) fetches `/studies/{nct}`, one id a page; the cursor is the index of the
 *   next id.
 * - `query.since` adds `filter.advanced=AREA[LastUpdatePostDate]RANGE[<date>,MAX]` (ANDed with a
 *   `filter.advanced` from `params`) and asks for `LastUpdatePostDate`, so records carry
 *   `meta.updated`, the watermark of the next run.
 * - `query.limit` only shrinks `pageSize`; the runner stops after `limit` records in all.
 *
 * 400 and 404 answers (plain text) become SOURCE_REJECTED quoting the API's reason.
 *
 * @example
 * const source = new ClinicalTrialsSource();
 * const page = await source.fetchPage({ params: { "query.cond": "Phelan-McDermid Syndrome" } }, null, { http });
 */
export class ClinicalTrialsSource implements LiteratureSource {
  readonly type = "clinicaltrials" as const;
  readonly options: ClinicalTrialsOptions;

  constructor(options: ClinicalTrialsOptions = {}) {
    this.options = options;
  }

  get #base(): string {
    return (this.options.baseUrl ?? "https://clinicaltrials.gov/api/v2").replace(/\/+$/, "");
  }

  fetchPage(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    return query.ids ? this.#byId(query.ids, cursor, ctx) : this.#search(query, cursor, ctx);
  }

  async #search(query: SourceQuery, cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    const params = new URLSearchParams();
    if (query.query) params.set("query.term", query.query);
    for (const [key, value] of Object.entries(query.params ?? {})) params.set(key, value);
    if (query.since) {
      const range = `AREA[LastUpdatePostDate]RANGE[${query.since.slice(0, 10)},MAX]`;
      const given = params.get("filter.advanced");
      params.set("filter.advanced", given ? `(${given}) AND ${range}` : range);
    }
    params.set("countTotal", "true");
    params.set("pageSize", String(pageSize(query)));
    params.set("fields", this.#fields(query.since !== undefined).join(","));
    if (cursor !== null) params.set("pageToken", cursor);
    const url = `${this.#base}/studies?${params.toString()}`;
    const reply = await ctx.http.get(url, { accept: "application/json", signal: ctx.signal });
    if (reply.status !== 200) throw rejected(reply, url);
    const body = parse<{ studies?: Study[]; nextPageToken?: string }>(reply, url);
    return {
      records: (body.studies ?? []).flatMap((study) => toRecord(study) ?? []),
      next: body.nextPageToken || null,
    };
  }

  async #byId(ids: string[], cursor: string | null, ctx: SourceContext): Promise<SourcePage> {
    const index = cursor === null ? 0 : Number(cursor);
    if (!Number.isInteger(index) || index < 0) {
      throw new SluiceError("VALIDATION_FAILED", `${NAME}: "${cursor}" is not a cursor of a lookup by id`);
    }
    const nct = ids[index]?.trim().toUpperCase();
    if (nct === undefined) return { records: [], next: null };
    const fields = this.options.fields
      ? `?${new URLSearchParams({ fields: this.#fields(false).join(",") }).toString()}`
      : "";
    const url = `${this.#base}/studies/${encodeURIComponent(nct)}${fields}`;
    const reply = await ctx.http.get(url, { accept: "application/json", signal: ctx.signal });
    if (reply.status === 404) {
      throw new SluiceError("SOURCE_REJECTED", `${NAME} has no study ${nct}: ${apiReason(reply)} (${url})`, {
        details: { source: "clinicaltrials", status: reply.status, url, id: nct },
      });
    }
    if (reply.status !== 200) throw rejected(reply, url);
    const record = toRecord(parse<Study>(reply, url));
    return { records: record ? [record] : [], next: index + 1 < ids.length ? String(index + 1) : null };
  }

  /** The configured fields, with the NCT number always and the update date when a run is incremental. */
  #fields(incremental: boolean): string[] {
    const fields = [...(this.options.fields ?? CLINICALTRIALS_DEFAULT_FIELDS)];
    if (!fields.includes("NCTId")) fields.unshift("NCTId");
    if (incremental && !fields.includes("LastUpdatePostDate")) fields.push("LastUpdatePostDate");
    return fields;
  }
}

function pageSize(query: SourceQuery): number {
  const size = query.pageSize ?? DEFAULT_PAGE_SIZE;
  return Math.max(1, query.limit !== undefined ? Math.min(size, query.limit) : size);
}

function rejected(reply: HttpReply, url: string): SluiceError {
  return new SluiceError("SOURCE_REJECTED", `${NAME}: ${apiReason(reply)} (${url})`, {
    details: { source: "clinicaltrials", status: reply.status, url },
  });
}

function parse<T>(reply: HttpReply, url: string): T {
  try {
    return JSON.parse(reply.body) as T;
  } catch (err) {
    throw new SluiceError("SOURCE_REJECTED", `${NAME} answered ${reply.status} with a body that is not JSON (${url})`, {
      details: { source: "clinicaltrials", status: reply.status, url },
      cause: err,
    });
  }
}

function toRecord(study: Study): SourceRecord | undefined {
  const p = study.protocolSection ?? {};
  const nct = p.identificationModule?.nctId;
  if (!nct) return undefined;
  const conditions = unique(p.conditionsModule?.conditions ?? []);
  const interventions = unique((p.armsInterventionsModule?.interventions ?? []).map((i) => i.name ?? ""));
  const investigators = unique((p.contactsLocationsModule?.overallOfficials ?? []).map((o) => o.name ?? ""));
  const lines = [
    conditions.length ? `Conditions: ${conditions.join("; ")}` : "",
    interventions.length ? `Interventions: ${interventions.join("; ")}` : "",
  ].filter(Boolean);
  const text = [p.descriptionModule?.briefSummary, p.descriptionModule?.detailedDescription, lines.join("\n")]
    .map((part) => part?.trim() ?? "")
    .filter(Boolean)
    .join("\n\n");
  const meta: LiteratureMeta = { source: "clinicaltrials", nct, url: `https://clinicaltrials.gov/study/${nct}` };
  const published = p.statusModule?.startDateStruct?.date;
  const updated = p.statusModule?.lastUpdatePostDateStruct?.date;
  if (published) meta.published = published;
  if (updated) meta.updated = updated;
  if (investigators.length) meta.authors = investigators;
  if (conditions.length) meta.conditions = conditions;
  const title = p.identificationModule?.briefTitle || p.identificationModule?.officialTitle || nct;
  return { id: nct, title, text, meta };
}

function unique(values: string[]): string[] {
  return [...new Set(values.map((v) => v.trim()).filter(Boolean))];
}
