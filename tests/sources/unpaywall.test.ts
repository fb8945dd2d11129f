import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PoliteHttp } from "../../src/stages/sources/http/polite-http.ts";
import { requireOpenAccess, UnpaywallSource } from "../../src/stages/sources/literature/unpaywall.ts";
import { replaySkipReason, startReplayServer, type ReplayServer } from "../helpers/replay-server.ts";

// The address the recordings were made with (PROVENANCE.md: Unpaywall answered 200 to it).
const EMAIL = "example@papercrow.ai";
const http = new PoliteHttp({ userAgent: "sluice-test", defaultLimit: { perSecond: 1000, burst: 100 } });

describe("UnpaywallSource configuration", () => {
  it("refuses to be built without an email: CONFIG_INVALID saying Unpaywall requires one", () => {
    for (const options of [{}, { email: "" }, { email: "nobody" }]) {
      assert.throws(() => new UnpaywallSource(options as { email: string }), {
        code: "CONFIG_INVALID",
        message: /Unpaywall requires an email/,
      });
    }
  });
});

describe("UnpaywallSource against the recorded API", { skip: replaySkipReason() }, () => {
  let server: ReplayServer;
  let unpaywall: UnpaywallSource;

  before(async () => {
    server = await startReplayServer();
    unpaywall = new UnpaywallSource({ baseUrl: server.base("api.unpaywall.org") + "/v2", email: EMAIL });
  });
  after(() => server.close());

  it("looks DOIs up: bronze with a PDF, gold and hybrid with a landing page only, closed with none", async () => {
    const dois = [
      "10.1073/pnas.1414271111",
      "https://doi.org/10.1016/J.XGEN.2025.100814",
      "doi:10.1016/j.addr.2015.01.008",
      "10.1023/a:1007154515475",
    ];
    const page = await unpaywall.fetchPage({ ids: dois }, null, { http });
    assert.equal(page.next, null);
    assert.deepEqual(
      page.records.map((r) => [r.id, r.meta.oaStatus, r.meta.pdfUrl ?? null, r.meta.license ?? null]),
      [
        ["10.1073/pnas.1414271111", "bronze", "https://www.pnas.org/content/pnas/111/45/E4832.full.pdf", null],
        ["10.1016/j.xgen.2025.100814", "gold", null, "cc-by"],
        ["10.1016/j.addr.2015.01.008", "hybrid", null, "cc-by-nc-nd"],
        ["10.1023/a:1007154515475", "closed", null, null],
      ],
    );
    const [bronze] = page.records;
    assert.match(bronze?.title ?? "", /^Developing functional musculoskeletal tissues through hypoxi/);
    assert.equal(bronze?.text, "", "Unpaywall has no abstract: the PDF is the text");
    assert.deepEqual(
      { ...bronze?.meta, authors: bronze?.meta.authors?.slice(0, 2) },
      {
        source: "unpaywall",
        doi: "10.1073/pnas.1414271111",
        authors: ["Eleftherios A. Makris", "Donald J. Responte"],
        published: "2014-10-27",
        updated: "2025-07-30T14:23:20Z",
        url: "https://doi.org/10.1073/pnas.1414271111",
        pdfUrl: "https://www.pnas.org/content/pnas/111/45/E4832.full.pdf",
        oaStatus: "bronze",
      },
    );
    // The recorded URLs: the DOI's slash unencoded, the email as the one parameter.
    assert.deepEqual(server.requests.slice(-4).map(decodeURIComponent), [
      `/api.unpaywall.org/v2/10.1073/pnas.1414271111?email=${EMAIL}`,
      `/api.unpaywall.org/v2/10.1016/j.xgen.2025.100814?email=${EMAIL}`,
      `/api.unpaywall.org/v2/10.1016/j.addr.2015.01.008?email=${EMAIL}`,
      `/api.unpaywall.org/v2/10.1023/a:1007154515475?email=${EMAIL}`,
    ]);
  });

  it("pages DOIs by pageSize with the next DOI's index as the cursor", async () => {
    const query = { ids: ["10.1007/s40278-023-41815-2", "10.1073/pnas.1414271111", "10.1023/a:1007154515475"] };
    const first = await unpaywall.fetchPage({ ...query, pageSize: 2 }, null, { http });
    assert.equal(first.next, "2");
    assert.deepEqual(
      first.records.map((r) => r.id),
      ["10.1007/s40278-023-41815-2", "10.1073/pnas.1414271111"],
    );
    const closed = first.records[0]!;
    assert.equal(closed.meta.oaStatus, "closed");
    assert.equal(closed.meta.pdfUrl, undefined);
    assert.equal(closed.meta.authors, undefined, "z_authors is empty");
    const second = await unpaywall.fetchPage({ ...query, pageSize: 2 }, first.next, { http });
    assert.deepEqual(
      second.records.map((r) => r.id),
      ["10.1023/a:1007154515475"],
    );
    assert.equal(second.next, null);
  });

  it("requireOpenAccess returns the PDF, and refuses closed and landing-page-only records with NOT_OPEN_ACCESS", async () => {
    const ids = ["10.1073/pnas.1414271111", "10.1023/a:1007154515475", "10.1016/j.xgen.2025.100814"];
    const [bronze, closed, gold] = (await unpaywall.fetchPage({ ids }, null, { http })).records;
    assert.equal(requireOpenAccess(bronze!), "https://www.pnas.org/content/pnas/111/45/E4832.full.pdf");
    assert.throws(() => requireOpenAccess(closed!), {
      code: "NOT_OPEN_ACCESS",
      message: "10.1023/a:1007154515475 has no open-access copy (Unpaywall: closed)",
    });
    assert.throws(() => requireOpenAccess(gold!), {
      code: "NOT_OPEN_ACCESS",
      message:
        "10.1016/j.xgen.2025.100814 has no open-access PDF (Unpaywall: gold, landing page only: https://doi.org/10.1016/j.xgen.2025.100814)",
    });
  });

  it("a 404 (a DOI Unpaywall does not know) is SOURCE_REJECTED quoting its message", async () => {
    // Not recorded: the body quoted in ourresearch/oadoi#119.
    const body =
      '{"HTTP_status_code": 404, "error": true, "message": "\'10.1038/s41557-019-0236-7\' is an invalid doi.  See http://doi.org/10.1038/s41557-019-0236-7"}';
    server.script("/api.unpaywall.org/v2/", [{ status: 404, body }]);
    await assert.rejects(unpaywall.fetchPage({ ids: ["10.1038/s41557-019-0236-7"] }, null, { http }), {
      code: "SOURCE_REJECTED",
      message: /404: '10\.1038\/s41557-019-0236-7' is an invalid doi\. {2}See http:\/\/doi\.org\/10\.1038/,
    });
  });

  it("a 422 (a placeholder email) is SOURCE_REJECTED quoting its message", async () => {
    // Not recorded: the body quoted in monarch-initiative/aurelian#38.
    const body =
      '{"HTTP_status_code": 422, "error": true, "message": "Please use your own email address in API calls. See http://unpaywall.org/products/api"}';
    server.script("/api.unpaywall.org/v2/", [{ status: 422, body }]);
    const placeholder = new UnpaywallSource({
      baseUrl: server.base("api.unpaywall.org") + "/v2",
      email: "test@example.com",
    });
    await assert.rejects(placeholder.fetchPage({ ids: ["10.1073/pnas.1414271111"] }, null, { http }), {
      code: "SOURCE_REJECTED",
      message: /422: Please use your own email address in API calls\./,
    });
    assert.equal(
      decodeURIComponent(server.requests.at(-1)!),
      "/api.unpaywall.org/v2/10.1073/pnas.1414271111?email=test@example.com",
    );
  });

  it("refuses a search and what is not a DOI with VALIDATION_FAILED, before any call", async () => {
    const before = server.requests.length;
    await assert.rejects(unpaywall.fetchPage({ query: "stem cells" }, null, { http }), {
      code: "VALIDATION_FAILED",
      message: /search is not supported; pass DOIs/,
    });
    await assert.rejects(unpaywall.fetchPage({ ids: ["PMC3040717"] }, null, { http }), {
      code: "VALIDATION_FAILED",
      message: /not a DOI/,
    });
    assert.equal(server.requests.length, before);
  });
});
