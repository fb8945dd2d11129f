import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { SluiceError } from "../../src/contracts/errors.ts";
import { PoliteHttp } from "../../src/stages/sources/http/polite-http.ts";
import { ClinicalTrialsSource } from "../../src/stages/sources/literature/clinicaltrials.ts";
import { replaySkipReason, startReplayServer, type ReplayServer } from "../helpers/replay-server.ts";

const PHELAN = { params: { "query.cond": "Phelan-McDermid Syndrome" } };
const PAGE2_TOKEN = "ZVt07cGHkvI2wRk2CJf6_LLq14bEL8swd7KrgP4dnDeTsPkw";
/** The field list of the recorded lookup of NCT02576665 (sorted, unlike the search's). */
const LOOKUP_FIELDS =
  "BriefSummary,BriefTitle,CentralContactEMail,CentralContactName,CentralContactPhone,CentralContactRole,CompletionDate,Condition,EligibilityCriteria,EnrollmentCount,InterventionName,InterventionOtherName,LargeDocumentModule,LeadSponsorName,LocationCity,LocationContactEMail,LocationContactName,LocationContactPhone,LocationContactRole,LocationCountry,LocationFacility,LocationGeoPoint,LocationState,LocationStatus,LocationZip,MaximumAge,MinimumAge,NCTId,OverallStatus,Phase,Sex,StartDate,StudyType".split(
    ",",
  );

/** Rejects with SOURCE_REJECTED whose message contains every one of `parts`. */
async function assertRejected(promise: Promise<unknown>, ...parts: string[]): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SluiceError);
    assert.equal(err.code, "SOURCE_REJECTED");
    for (const part of parts) assert.ok(err.message.includes(part), `${err.message} lacks ${part}`);
    return true;
  });
}

describe("ClinicalTrialsSource against the recorded API", { skip: replaySkipReason() }, () => {
  let server: ReplayServer;
  let source: ClinicalTrialsSource;
  const slept: number[] = [];
  const http = new PoliteHttp({
    userAgent: "sluice-test",
    defaultLimit: { perSecond: 1000, burst: 100 },
    sleep: async (ms) => {
      slept.push(ms);
    },
  });
  const ctx = { http };

  before(async () => {
    server = await startReplayServer();
    source = new ClinicalTrialsSource({ baseUrl: `${server.base("clinicaltrials.gov")}/api/v2` });
  });
  after(() => server.close());

  it("pages a search across the two recorded pages with nextPageToken", async () => {
    const first = await source.fetchPage({ ...PHELAN, pageSize: 5 }, null, ctx);
    assert.deepEqual(
      first.records.map((r) => r.id),
      ["NCT02710084", "NCT05105685", "NCT01525901", "NCT03493607", "NCT07119606"],
    );
    assert.equal(first.next, PAGE2_TOKEN);
    const [oxytocin] = first.records;
    assert.equal(oxytocin?.title, "Piloting Treatment With Intranasal Oxytocin in Phelan-McDermid Syndrome");
    assert.ok(oxytocin?.text.startsWith("This is a pilot study examining the efficacy, safety and tolerability"));
    assert.ok(oxytocin?.text.endsWith("\n\nConditions: Phelan-McDermid Syndrome\nInterventions: Oxytocin; Saline"));
    assert.deepEqual(oxytocin?.meta, {
      source: "clinicaltrials",
      nct: "NCT02710084",
      url: "https://clinicaltrials.gov/study/NCT02710084",
      published: "2016-04-29",
      conditions: ["Phelan-McDermid Syndrome"],
    });

    const second = await source.fetchPage({ ...PHELAN, pageSize: 5 }, first.next, ctx);
    assert.deepEqual(
      second.records.map((r) => r.id),
      ["NCT05187377", "NCT03836300", "NCT07014020", "NCT05025241", "NCT07281079"],
    );
    assert.equal(
      second.records[2]?.title,
      "RB001 Gene Therapy Study in Children With SHANK3-related Phelan-McDermid Syndrome (PMS)",
    );
    assert.equal(second.next, "ZVt07cGHkvI2wRk2CJf6_LLq14bEL8swd7KrgP4bmjeauvk_IQ");
    // The recorded page-2 request repeats countTotal=true with the token.
    assert.match(server.requests.at(-1) ?? "", /countTotal=true.*pageToken=ZVt07/);
  });

  it("returns next null on a page without nextPageToken", async () => {
    const page = await source.fetchPage({ ...PHELAN, pageSize: 50 }, null, ctx);
    assert.deepEqual(
      page.records.map((r) => r.id),
      ["NCT02710084", "NCT05105685", "NCT01525901"],
    );
    assert.equal(page.next, null);
  });

  it("passes query.intr as it is and shrinks pageSize to the limit", async () => {
    const page = await source.fetchPage({ params: { "query.intr": '"Keytruda"' }, limit: 3 }, null, ctx);
    assert.deepEqual(
      page.records.map((r) => r.id),
      ["NCT05431270", "NCT03590054", "NCT04795661"],
    );
    assert.equal(page.next, "ZVt07cGHkvI2wRk2CJf6_LLq14bEL8swd7KrgP4YnzmVtA");
    assert.match(server.requests.at(-1) ?? "", /pageSize=3&/);
  });

  it("fetches a full study by NCT id: summary, conditions, interventions, investigators, dates", async () => {
    const page = await source.fetchPage({ ids: ["NCT02513394"] }, null, ctx);
    assert.equal(page.next, null);
    const [pallas] = page.records;
    assert.equal(pallas?.id, "NCT02513394");
    assert.equal(pallas?.title, "PALbociclib CoLlaborative Adjuvant Study");
    assert.ok(pallas?.text.startsWith("This is a prospective, two arm, international, multicenter, randomized"));
    assert.ok(
      pallas?.text.endsWith(
        "\n\nConditions: Breast Cancer\nInterventions: Palbociclib; Standard Adjuvant Endocrine Therapy",
      ),
    );
    assert.deepEqual(pallas?.meta, {
      source: "clinicaltrials",
      nct: "NCT02513394",
      url: "https://clinicaltrials.gov/study/NCT02513394",
      published: "2015-08",
      updated: "2023-06-15",
      authors: ["Suzanne George, MD", "Erica Mayer, MD", "Angela DeMichele, MD", "Michael Gnant, MD"],
      conditions: ["Breast Cancer"],
    });
    assert.equal(server.requests.at(-1), "/clinicaltrials.gov/api/v2/studies/NCT02513394");
  });

  it("pages ids one at a time and names the id ClinicalTrials.gov has no study of (404 text/plain)", async () => {
    const query = { ids: ["nct02513394", "NCT99999999"] };
    const first = await source.fetchPage(query, null, ctx);
    assert.deepEqual(
      first.records.map((r) => r.id),
      ["NCT02513394"],
    );
    assert.equal(first.next, "1");
    server.script("/clinicaltrials.gov/api/v2/studies/NCT99999999", [
      { status: 404, headers: { "content-type": "text/plain" }, body: "Study not found" },
    ]);
    await assertRejected(source.fetchPage(query, first.next, ctx), "NCT99999999", "Study not found");
  });

  it("sends the configured fields on a lookup by id", async () => {
    const withFields = new ClinicalTrialsSource({
      baseUrl: `${server.base("clinicaltrials.gov")}/api/v2`,
      fields: LOOKUP_FIELDS,
    });
    const page = await withFields.fetchPage({ ids: ["NCT02576665"] }, null, ctx);
    assert.equal(page.records[0]?.id, "NCT02576665");
    assert.equal(page.records[0]?.meta.published, "2016-07");
    assert.ok(page.records[0]?.text.includes("Interventions: Toca 511; Toca FC"));
  });

  it("sends query.term, filter.advanced on LastUpdatePostDate for since, and asks for that field", async () => {
    server.script("/clinicaltrials.gov/api/v2/studies", [{ status: 200, body: '{"studies":[]}' }]);
    const page = await source.fetchPage(
      { query: "stem cells", since: "2026-01-15T00:00:00Z", params: { "filter.advanced": "AREA[Phase]PHASE3" } },
      null,
      ctx,
    );
    assert.deepEqual(page, { records: [], next: null });
    const sent = new URL(server.requests.at(-1) ?? "", "http://x").searchParams;
    assert.equal(sent.get("query.term"), "stem cells");
    assert.equal(sent.get("filter.advanced"), "(AREA[Phase]PHASE3) AND AREA[LastUpdatePostDate]RANGE[2026-01-15,MAX]");
    assert.equal(sent.get("pageSize"), "100");
    assert.ok(sent.get("fields")?.split(",").includes("LastUpdatePostDate"));
  });

  it("turns a 400 (text/plain) into SOURCE_REJECTED quoting the API", async () => {
    server.script("/clinicaltrials.gov/api/v2/studies", [
      { status: 400, headers: { "content-type": "text/plain" }, body: "unknown parameter: query.nonsense" },
    ]);
    await assertRejected(
      source.fetchPage({ params: { "query.nonsense": "x" } }, null, ctx),
      "ClinicalTrials.gov: unknown parameter: query.nonsense (",
    );
  });

  it("waits out a 429 with Retry-After: 1 and still returns the recorded page", async () => {
    slept.length = 0;
    server.script("/clinicaltrials.gov/api/v2/studies", [{ status: 429, headers: { "retry-after": "1" } }]);
    const page = await source.fetchPage({ ...PHELAN, pageSize: 5 }, null, ctx);
    assert.equal(page.records.length, 5);
    assert.equal(page.next, PAGE2_TOKEN);
    assert.deepEqual(slept, [1000]);
  });
});
