import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PoliteHttp } from "../../src/stages/sources/http/polite-http.ts";
import { PmcSource } from "../../src/stages/sources/literature/pmc.ts";
import { ROOT } from "../helpers/cli.ts";
import { replaySkipReason, SOURCES_FIXTURES, startReplayServer, type ReplayServer } from "../helpers/replay-server.ts";

const EUTILS = "/eutils.ncbi.nlm.nih.gov/entrez/eutils";
const recorded = (file: string) => readFileSync(join(SOURCES_FIXTURES, "pmc", file), "utf8");
const xmlReply = (body: string) => ({ status: 200, headers: { "content-type": "text/xml" }, body });

/** A fast client; `slept` lists every wait (a clock that only moves when it sleeps). */
function client() {
  let now = 1_000_000;
  const slept: number[] = [];
  const http = new PoliteHttp({
    userAgent: "sluice-test",
    defaultLimit: { perSecond: 1000, burst: 100 },
    retry: { attempts: 3, initialDelayMs: 500, maxDelayMs: 5000 },
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random: () => 1,
  });
  return { http, slept };
}

describe("PmcSource against the recorded E-utilities and OA service", { skip: replaySkipReason() }, () => {
  let server: ReplayServer;
  let pmc: PmcSource;

  before(async () => {
    server = await startReplayServer();
    pmc = new PmcSource({
      baseUrl: server.base("eutils.ncbi.nlm.nih.gov") + "/entrez/eutils",
      oaBaseUrl: server.base("www.ncbi.nlm.nih.gov") + "/pmc/utils/oa",
    });
  });
  after(() => server.close());

  it("fetches PMCIDs' full texts: title, abstract then body, ids, authors, dates, licence, url", async () => {
    const { http } = client();
    const page = await pmc.fetchPage({ ids: ["PMC3040717", "6329583"] }, null, { http });
    assert.equal(page.next, null);
    assert.deepEqual(
      page.records.map((r) => r.id),
      ["PMC3040717", "PMC6329583"],
    );
    const [brca1, pten] = page.records as [(typeof page.records)[0], (typeof page.records)[0]];
    assert.equal(
      brca1.title,
      "Comprehensive Analysis of Missense Variations in the BRCT Domain of BRCA1 by Structural and Functional Assays",
    );
    // The abstract comes first, then the body's sections, one blank line between paragraphs.
    assert.match(brca1.text, /^Genetic screening of the breast and ovarian cancer susceptibility gene BRCA1 has/);
    assert.match(brca1.text, /we used limited proteolysis to assess the protein folding stability/);
    assert.match(brca1.text, /tumor-suppressive activities of BRCA1\.$/);
    assert.ok(brca1.text.includes("\n\n"));
    // The last section holds only supplementary files: its title is left out with them.
    assert.doesNotMatch(brca1.text, /\n\nSupplementary Material(\n|$)/);
    assert.deepEqual(
      { ...brca1.meta, authors: brca1.meta.authors?.slice(0, 2) },
      {
        source: "pmc",
        pmcid: "PMC3040717",
        pmid: "20516115",
        doi: "10.1158/0008-5472.can-09-4563",
        authors: ["Megan S. Lee", "Ruth Green"],
        published: "2010-06-01",
        updated: "2024-06-06",
        license:
          "This file is available for text mining. It may also be used consistent with the principles of fair use under the copyright law.",
        url: "https://pmc.ncbi.nlm.nih.gov/articles/PMC3040717/",
      },
    );
    assert.equal(brca1.meta.authors?.length, 11);
    assert.equal(brca1.meta.authors?.at(-1), "J.N. Mark Glover");

    assert.match(pten.title, /^Gene-Specific Criteria for PTEN Variant Curation/);
    assert.match(pten.text, /^The ClinGen PTEN Expert Panel was organized by/);
    assert.match(pten.text, /\n\nIntroduction\n\nClinVar is a publicly available resource of genetic variants/);
    assert.equal(pten.meta.pmid, "30311380");
    assert.equal(pten.meta.published, "2018-11");
    assert.equal(pten.meta.authors?.[0], "Jessica L. Mester");

    assert.deepEqual(server.requests.slice(-2), [
      `${EUTILS}/efetch.fcgi?db=pmc&id=3040717&rettype=xml`,
      `${EUTILS}/efetch.fcgi?db=pmc&id=6329583&rettype=xml`,
    ]);
  });

  it("reads a JATS article with a bare `pmc` id, an ALI licence URL and entities in the title", async () => {
    // Recorded without rettype (its URL is inferred); the adapter always asks rettype=xml, so the body is scripted.
    server.script(`${EUTILS}/efetch.fcgi`, [xmlReply(recorded("efetch-pmc-8435807.xml"))]);
    const { http } = client();
    const page = await pmc.fetchPage({ ids: ["PMC8435807"] }, null, { http });
    const [record] = page.records;
    assert.equal(record?.id, "PMC8435807");
    assert.match(
      record?.title ?? "",
      /^“Lung diffusing capacity for nitric oxide .*ERJ Open Res 2021; 7: 00193-2021\.$/,
    );
    assert.match(record?.text ?? "", /has now been corrected to −15\.1% in the published article\.$/);
    assert.equal(record?.meta.doi, "10.1183/23120541.50193-2021");
    assert.equal(record?.meta.pmid, "34527728");
    assert.equal(record?.meta.published, "2021-09-13", "the epub date, over the collection's month");
    assert.equal(record?.meta.license, "https://creativecommons.org/licenses/by-nc/4.0/");
    assert.equal(record?.meta.authors, undefined);
    assert.equal(server.requests.at(-1), `${EUTILS}/efetch.fcgi?db=pmc&id=8435807&rettype=xml`);
  });

  it("searches with esearch (the recorded URL), then efetches each id it found", async () => {
    // The recordings hold no efetch of these five ids: recorded articles stand in for them.
    const bodies = ["efetch-pmc-3040717.xml", "efetch-pmc-6329583.xml", "efetch-pmc-8435807.xml"];
    server.script(
      `${EUTILS}/efetch.fcgi`,
      [0, 1, 2, 0, 1].map((i) => xmlReply(recorded(bodies[i]!))),
    );
    const { http } = client();
    const page = await pmc.fetchPage({ query: "stem cells AND hasabstract" }, null, { http });
    const asked = server.requests.slice(-6);
    assert.equal(asked[0], `${EUTILS}/esearch.fcgi?db=pmc&term=stem+cells+AND+hasabstract`);
    assert.deepEqual(
      asked.slice(1),
      ["6540636", "5830998", "4460425", "4466840", "3443459"].map(
        (id) => `${EUTILS}/efetch.fcgi?db=pmc&id=${id}&rettype=xml`,
      ),
    );
    assert.equal(page.records.length, 5);
    assert.equal(page.records[2]?.meta.pmcid, "PMC8435807");
    assert.equal(page.next, null, "Count 5, all five read");
  });

  it("pages with retstart/retmax, sends api_key, tool and email when configured, and stops at Count", async () => {
    const esearch = (start: number, ids: string[]) =>
      xmlReply(
        `<?xml version="1.0" encoding="UTF-8" ?><eSearchResult><Count>3</Count><RetMax>${ids.length}</RetMax>` +
          `<RetStart>${start}</RetStart><IdList>${ids.map((id) => `<Id>${id}</Id>`).join("")}</IdList></eSearchResult>`,
      );
    server.script(`${EUTILS}/esearch.fcgi`, [esearch(0, ["3040717", "6329583"]), esearch(2, ["8435807"])]);
    // The recorded efetch URLs carry no api_key/tool/email: the same articles, scripted.
    server.script(
      `${EUTILS}/efetch.fcgi`,
      ["efetch-pmc-3040717.xml", "efetch-pmc-6329583.xml", "efetch-pmc-8435807.xml"].map((f) => xmlReply(recorded(f))),
    );
    const identified = new PmcSource({
      baseUrl: server.base("eutils.ncbi.nlm.nih.gov") + "/entrez/eutils",
      apiKey: "k3y",
      tool: "sluice",
      email: "dev@example.org",
    });
    const { http } = client();
    const query = { query: "brca1", pageSize: 2 };
    const first = await identified.fetchPage(query, null, { http });
    assert.equal(first.next, "2");
    assert.deepEqual(
      first.records.map((r) => r.id),
      ["PMC3040717", "PMC6329583"],
    );
    const second = await identified.fetchPage(query, first.next, { http });
    assert.equal(second.next, null);
    assert.deepEqual(
      second.records.map((r) => r.id),
      ["PMC8435807"],
    );
    const params = server.requests.slice(-5).map((r) => Object.fromEntries(new URL(r, "http://x").searchParams));
    const identity = { api_key: "k3y", tool: "sluice", email: "dev@example.org" };
    assert.deepEqual(params, [
      { db: "pmc", term: "brca1", retmax: "2", ...identity },
      { db: "pmc", id: "3040717", rettype: "xml", ...identity },
      { db: "pmc", id: "6329583", rettype: "xml", ...identity },
      { db: "pmc", term: "brca1", retstart: "2", retmax: "2", ...identity },
      { db: "pmc", id: "8435807", rettype: "xml", ...identity },
    ]);
  });

  it("retries E-utilities' 429 (the recorded body) after a backoff wait, then reads the article", async () => {
    server.script(`${EUTILS}/efetch.fcgi`, [{ status: 429, body: recorded("eutils-429-rate-limit-exceeded.json") }]);
    const { http, slept } = client();
    const page = await pmc.fetchPage({ ids: ["PMC3040717"] }, null, { http });
    assert.equal(page.records[0]?.id, "PMC3040717");
    assert.deepEqual(slept, [500], "no Retry-After: the first backoff (random 1 × 500 ms)");
    assert.deepEqual(server.requests.slice(-2), [
      `${EUTILS}/efetch.fcgi?db=pmc&id=3040717&rettype=xml`,
      `${EUTILS}/efetch.fcgi?db=pmc&id=3040717&rettype=xml`,
    ]);
  });

  it("a 429 that lasts through every attempt fails with SOURCE_RATE_LIMITED quoting E-utilities", async () => {
    const body = recorded("eutils-429-rate-limit-exceeded.json");
    server.script(
      `${EUTILS}/efetch.fcgi`,
      [1, 2, 3].map(() => ({ status: 429, body })),
    );
    const { http } = client();
    await assert.rejects(pmc.fetchPage({ ids: ["PMC3040717"] }, null, { http }), {
      code: "SOURCE_RATE_LIMITED",
      message: /API rate limit exceeded/,
    });
  });

  it("efetch with no article for an id fails with SOURCE_REJECTED quoting E-utilities", async () => {
    server.script(`${EUTILS}/efetch.fcgi`, [
      xmlReply(
        '<?xml version="1.0" ?><pmc-articleset><error>The following PMCID is not available: 99999999</error></pmc-articleset>',
      ),
    ]);
    const { http } = client();
    await assert.rejects(pmc.fetchPage({ ids: ["PMC99999999"] }, null, { http }), {
      code: "SOURCE_REJECTED",
      message: /PMC99999999: The following PMCID is not available: 99999999/,
    });
  });

  it("refuses ids that are not PMCIDs, and a query with neither a search nor ids, before any call", async () => {
    const { http } = client();
    const before = server.requests.length;
    await assert.rejects(pmc.fetchPage({ ids: ["10.1000/xyz"] }, null, { http }), { code: "VALIDATION_FAILED" });
    await assert.rejects(pmc.fetchPage({}, null, { http }), { code: "VALIDATION_FAILED" });
    assert.equal(server.requests.length, before);
  });

  it("openAccessLink: the OA service's idIsNotOpenAccess answer is NOT_OPEN_ACCESS with its message", async () => {
    const { http } = client();
    await assert.rejects(pmc.openAccessLink("PMC3040717", { http }), (err: Error & { code: string }) => {
      assert.equal(err.code, "NOT_OPEN_ACCESS");
      assert.match(err.message, /identifier 'PMC3040717' is not Open Access \(idIsNotOpenAccess\)/);
      return true;
    });
    assert.equal(server.requests.at(-1), "/www.ncbi.nlm.nih.gov/pmc/utils/oa/oa.fcgi?id=PMC3040717");
  });

  it("openAccessLink returns the PDF link of an open-access record, else its tgz", async () => {
    // Not recorded: the success shape as the OA service's documentation shows it.
    const record = (links: string) =>
      xmlReply(
        `<OA><responseDate>2026-08-05 16:41:39</responseDate><request>oa.fcgi?id=PMC5334499</request>` +
          `<records returned-count="1" total-count="1"><record id="PMC5334499" citation="x" license="CC BY" retracted="no">` +
          `${links}</record></records></OA>`,
      );
    const tgz = '<link format="tgz" updated="2017-03-03 06:19:38" href="ftp://ftp.ncbi.nlm.nih.gov/pub/pmc/a.tar.gz"/>';
    const pdf = '<link format="pdf" updated="2017-03-03 06:19:38" href="ftp://ftp.ncbi.nlm.nih.gov/pub/pmc/a.pdf"/>';
    server.script("/www.ncbi.nlm.nih.gov/pmc/utils/oa/oa.fcgi", [record(tgz + pdf), record(tgz)]);
    const { http } = client();
    assert.deepEqual(await pmc.openAccessLink("5334499", { http }), {
      pmcid: "PMC5334499",
      format: "pdf",
      href: "ftp://ftp.ncbi.nlm.nih.gov/pub/pmc/a.pdf",
      license: "CC BY",
    });
    assert.equal((await pmc.openAccessLink("PMC5334499", { http })).format, "tgz");
  });
});

describe("PmcSource loading", () => {
  it("loads fast-xml-parser only when it first parses, not on import", () => {
    const log = join(mkdtempSync(join(tmpdir(), "sluice-pmc-")), "modules.log");
    const script = `const { PmcSource } = await import(${JSON.stringify(join(ROOT, "src/stages/sources/literature/index.ts"))}); new PmcSource();`;
    const run = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        "--import",
        join(ROOT, "tests", "helpers", "record-modules.ts"),
        "--input-type=module",
        "-e",
        script,
      ],
      { cwd: ROOT, env: { ...process.env, SLUICE_MODULE_LOG: log }, encoding: "utf8" },
    );
    assert.equal(run.status, 0, run.stderr);
    const modules = readFileSync(log, "utf8");
    assert.match(modules, /literature\/pmc\.ts/);
    assert.doesNotMatch(modules, /fast-xml-parser/);
  });
});
