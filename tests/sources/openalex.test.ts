import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { SluiceError } from "../../src/contracts/errors.ts";
import { PoliteHttp } from "../../src/stages/sources/http/polite-http.ts";
import { abstractText, OpenAlexSource } from "../../src/stages/sources/literature/openalex.ts";
import { replaySkipReason, SOURCES_FIXTURES, startReplayServer, type ReplayServer } from "../helpers/replay-server.ts";

/** The recorded cursor pages were requested with this filter and the recorder's stand-in for the key. */
const PAIR = { params: { filter: "openalex:W3045921891|W3046863325" } };
const RECORDED_KEY = "<api-key>";
const NEXT_CURSOR = "IlsnLUluZmluaXR5JywgMCwgJ2h0dHBzOi8vb3BlbmFsZXgub3JnL1czMDQ1OTIxODkxJ10i";

const recorded = (file: string) => readFileSync(join(SOURCES_FIXTURES, "openalex", file), "utf8");

/** Rejects with SOURCE_REJECTED whose message contains every one of `parts`; returns the message. */
async function rejectedMessage(promise: Promise<unknown>, ...parts: string[]): Promise<string> {
  let message = "";
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof SluiceError);
    assert.equal(err.code, "SOURCE_REJECTED");
    for (const part of parts) assert.ok(err.message.includes(part), `${err.message} lacks ${part}`);
    message = err.message;
    return true;
  });
  return message;
}

describe("abstractText", () => {
  it("places each word at its positions and joins them with spaces", () => {
    assert.equal(abstractText({ Hello: [0], world: [1, 3], again: [2] }), "Hello world again world");
    assert.equal(abstractText(null), "");
  });
});

describe("OpenAlexSource against the recorded API", { skip: replaySkipReason() }, () => {
  let server: ReplayServer;
  let base = "";
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
    base = server.base("api.openalex.org");
  });
  after(() => server.close());

  it("pages with cursor=* then meta.next_cursor, and next null on the empty last page", async () => {
    const source = new OpenAlexSource({ baseUrl: base, apiKey: RECORDED_KEY });
    const first = await source.fetchPage(PAIR, null, ctx);
    const sent = new URL(server.requests.at(-1) ?? "", "http://x").searchParams;
    assert.equal(sent.get("cursor"), "*");
    assert.equal(sent.get("per_page"), "200");
    assert.equal(sent.get("api_key"), RECORDED_KEY);
    assert.deepEqual(
      first.records.map((r) => [r.id, r.title]),
      [
        ["W3046863325", "Trends of Publications' Citations and Altmetrics Based on Open Access Types"],
        ["W3045921891", "Measuring prominence of scientific work in online news as a proxy for impact"],
      ],
    );
    assert.equal(first.next, NEXT_CURSOR);
    assert.deepEqual(first.records[0]?.meta, {
      source: "openalex",
      openalexId: "W3046863325",
      doi: "10.1145/3383583.3398584",
      authors: ["Chifumi Nishioka", "Michael Färber"],
      published: "2020-08-01",
      updated: "2025-11-06T03:46:38.306776",
      license: "other-oa",
      url: "https://doi.org/10.1145/3383583.3398584",
      pdfUrl: "https://dl.acm.org/doi/pdf/10.1145/3383583.3398584",
    });
    // The arXiv copy has no licence; the primary location has none either.
    assert.equal(first.records[1]?.meta.license, undefined);
    assert.equal(first.records[1]?.meta.pdfUrl, "https://arxiv.org/pdf/2007.14454");

    const last = await source.fetchPage(PAIR, first.next, ctx);
    assert.deepEqual(last, { records: [], next: null });
  });

  it("rebuilds the abstract from the inverted index", async () => {
    const source = new OpenAlexSource({ baseUrl: base, apiKey: RECORDED_KEY });
    const page = await source.fetchPage(PAIR, null, ctx);
    const text = page.records[0]?.text ?? "";
    assert.ok(
      text.startsWith("This paper analyzes trends of citation and altmetrics with respect to different OA types"),
    );
    assert.ok(text.includes("articles with a green license obtain more citations than other OA types."));
  });

  it("fetches a work by W id: pmid, pmcid with PMC, authors, licence, PDF", async () => {
    const source = new OpenAlexSource({ baseUrl: base });
    const page = await source.fetchPage({ ids: ["W2741809807"] }, null, ctx);
    assert.equal(page.next, null);
    const [work] = page.records;
    assert.equal(work?.id, "W2741809807");
    assert.equal(
      work?.title,
      "The state of OA: a large-scale analysis of the prevalence and impact of Open Access articles",
    );
    assert.ok(
      work?.text.startsWith(
        "Despite growing interest in Open Access (OA) to scholarly literature, there is an unmet need",
      ),
    );
    assert.deepEqual(work?.meta, {
      source: "openalex",
      openalexId: "W2741809807",
      doi: "10.7717/peerj.4375",
      pmid: "29456894",
      pmcid: "PMC5815332",
      authors: [
        "Heather Piwowar",
        "Jason Priem",
        "Vincent Larivière",
        "Juan Pablo Alperín",
        "Lisa Matthias",
        "Bree Norlander",
        "Ashley Farley",
        "Jevin D. West",
        "Stefanie Haustein",
      ],
      published: "2018-02-13",
      updated: "2025-06-11T00:03:37.532706",
      license: "cc-by",
      url: "https://doi.org/10.7717/peerj.4375",
      pdfUrl: "https://peerj.com/articles/4375.pdf",
    });
    assert.equal(server.requests.at(-1), "/api.openalex.org/works/W2741809807");
  });

  it("looks DOIs up as https://doi.org/<doi> with the slash escaped, one id a page", async () => {
    const source = new OpenAlexSource({ baseUrl: base });
    const query = { ids: ["https://doi.org/10.1073/PNAS.1414271111", "doi:10.1023/a:1007154515475"] };
    const first = await source.fetchPage(query, null, ctx);
    assert.equal(server.requests.at(-1), "/api.openalex.org/works/https://doi.org/10.1073%2Fpnas.1414271111");
    assert.equal(first.next, "1");
    assert.equal(first.records[0]?.id, "W2109415576");
    assert.equal(first.records[0]?.meta.doi, "10.1073/pnas.1414271111");
    assert.equal(first.records[0]?.meta.pmcid, "PMC4234579");
    assert.ok(
      first.records[0]?.text.startsWith("Significance The inadequate mechanical properties of engineered tissues"),
    );

    const second = await source.fetchPage(query, first.next, ctx);
    assert.equal(server.requests.at(-1), "/api.openalex.org/works/https://doi.org/10.1023%2Fa:1007154515475");
    assert.equal(second.next, null);
    const closed = second.records[0];
    assert.equal(closed?.id, "W1554322594");
    assert.equal(closed?.text, "");
    assert.equal(closed?.meta.pdfUrl, undefined);
    assert.equal(closed?.meta.license, undefined);
    assert.equal(closed?.meta.pmid, "11330823");
    assert.equal(closed?.meta.pmcid, undefined);
  });

  it("turns the recorded 404 (an HTML page) into SOURCE_REJECTED naming the id", async () => {
    const source = new OpenAlexSource({ baseUrl: base });
    const doi = "10.1046/j.1365-2699.2003.00795";
    await rejectedMessage(
      source.fetchPage({ ids: [doi], params: { select: "open_access,doi" } }, null, ctx),
      `OpenAlex has no work ${doi}`,
    );
    // The request the 404 was recorded for, not the replay server's own "no recording" 404.
    assert.equal(
      server.requests.at(-1),
      "/api.openalex.org/works/https://doi.org/10.1046%2Fj.1365-2699.2003.00795?select=open_access%2Cdoi",
    );
  });

  it("quotes the message of the recorded 400 on a bad select", async () => {
    const source = new OpenAlexSource({ baseUrl: base });
    await rejectedMessage(
      source.fetchPage({ ids: ["W1775749144"], params: { select: "DOESNTEXIST" } }, null, ctx),
      "OpenAlex: DOESNTEXIST is not a valid select field. Valid fields for select are: id, doi, title",
    );
  });

  it("quotes the message of the recorded 400 on a bad filter", async () => {
    const source = new OpenAlexSource({ baseUrl: base });
    server.script("/api.openalex.org/works", [{ status: 400, body: recorded("error-400-invalid-filter-field.json") }]);
    await rejectedMessage(
      source.fetchPage({ params: { filter: "DOESNTEXIST:1" } }, null, ctx),
      "OpenAlex: DOESNTEXIST is not a valid field. Valid fields are underscore or hyphenated versions of",
    );
  });

  it("quotes the recorded 401 for a bad key without repeating the key", async () => {
    const source = new OpenAlexSource({ baseUrl: base, apiKey: "not-a-real-key-42" });
    server.script("/api.openalex.org/works", [
      { status: 401, body: recorded("error-401-rate-limit-endpoint-bad-api-key.json") },
    ]);
    const message = await rejectedMessage(source.fetchPage(PAIR, null, ctx), "OpenAlex: API key not found");
    assert.ok(!message.includes("not-a-real-key-42"), message);
    assert.ok(message.includes("api_key=***"), message);
  });

  it("waits out a 429 with Retry-After: 1 and still returns the recorded page", async () => {
    const source = new OpenAlexSource({ baseUrl: base, apiKey: RECORDED_KEY });
    slept.length = 0;
    server.script("/api.openalex.org/works", [{ status: 429, headers: { "retry-after": "1" } }]);
    const page = await source.fetchPage(PAIR, null, ctx);
    assert.equal(page.records.length, 2);
    assert.equal(page.next, NEXT_CURSOR);
    assert.deepEqual(slept, [1000]);
  });

  it("sends search, mailto and api_key, from_updated_date for since, and per_page shrunk to the limit", async () => {
    const source = new OpenAlexSource({ baseUrl: base, mailto: "me@example.org", apiKey: "k" });
    const empty = '{"meta":{"next_cursor":"abc"},"results":[]}';
    server.script("/api.openalex.org/works", [
      { status: 200, body: empty },
      { status: 200, body: recorded("work-W2741809807.json") },
    ]);
    const page = await source.fetchPage(
      { query: "open access", since: "2026-01-15", limit: 50, params: { filter: "is_oa:true" } },
      null,
      ctx,
    );
    // An empty page ends the run even when the API still sends a cursor.
    assert.deepEqual(page, { records: [], next: null });
    const sent = new URL(server.requests.at(-1) ?? "", "http://x").searchParams;
    assert.equal(sent.get("search"), "open access");
    assert.equal(sent.get("filter"), "is_oa:true,from_updated_date:2026-01-15");
    assert.equal(sent.get("per_page"), "50");
    assert.equal(sent.get("mailto"), "me@example.org");
    assert.equal(sent.get("api_key"), "k");

    await source.fetchPage({ ids: ["W2741809807"] }, null, ctx);
    assert.equal(server.requests.at(-1), "/api.openalex.org/works/W2741809807?mailto=me%40example.org&api_key=k");
  });
});
