import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { SourceCursor } from "../ledger/ledger.ts";
import { PoliteHttp } from "../stages/sources/http/polite-http.ts";
import type { LiteratureSource, SourceQuery, SourceRecord } from "../stages/sources/literature/literature-source.ts";
import { recordToRef, runSourcePages, sourceQueryKey, SourceSpecSchema, type SourceSpec } from "./source-run.ts";

const http = new PoliteHttp({ userAgent: "test" });

function record(id: string, updated: string, text = `text of ${id}`): SourceRecord {
  return { id, title: `title ${id}`, text, meta: { source: "openalex", openalexId: id, updated } };
}

/** A source of three pages, "p1" → "p2" → end; remembers the queries and cursors it was asked. */
function threePages(): LiteratureSource & { asked: Array<{ query: SourceQuery; cursor: string | null }> } {
  const pages: Record<string, { records: SourceRecord[]; next: string | null }> = {
    start: { records: [record("W1", "2024-01-01"), record("W2", "2024-03-01")], next: "p1" },
    p1: { records: [record("W3", "2024-02-01"), record("W4", "2024-01-15", " ")], next: "p2" },
    p2: { records: [record("W5", "2023-12-31")], next: null },
  };
  const asked: Array<{ query: SourceQuery; cursor: string | null }> = [];
  return {
    type: "openalex",
    asked,
    fetchPage: async (query, cursor) => {
      asked.push({ query, cursor });
      return pages[cursor ?? "start"]!;
    },
  };
}

function harness(spec: SourceSpec, saved: SourceCursor | null = null, failOnAdmit = -1) {
  const source = threePages();
  const log: string[] = [];
  let admits = 0;
  const run = runSourcePages({
    source,
    http,
    spec,
    saved,
    admit: async (refs) => {
      if (admits++ === failOnAdmit) throw new Error("crash while admitting");
      log.push(`admit ${refs.map((r) => r.id).join(",")}`);
    },
    save: async (state) => void log.push(`save ${state.cursor} ${state.watermark}`),
  });
  return { run, source, log };
}

describe("runSourcePages", () => {
  it("admits each page before saving the cursor after it, and saves the newest update as the watermark at the end", async () => {
    const { run, log } = harness({ type: "openalex", query: "q" });
    const result = await run;
    assert.deepEqual(log, [
      "admit W1,W2",
      "save p1 null",
      "admit W3",
      "save p2 null",
      "admit W5",
      "save null 2024-03-01",
    ]);
    assert.equal(result.fetched, 5);
    assert.deepEqual(result.skipped, [{ id: "W4", reason: "no text to index" }]);
    assert.equal(result.cursor, null);
    assert.equal(result.watermark, "2024-03-01");
  });

  it("resumes from a saved cursor, and asks only for what changed since the last complete run", async () => {
    const saved = { cursor: "p1", watermark: "2023-06-01", jobId: "job_old", updatedAt: "" };
    const { run, source, log } = harness({ type: "openalex", query: "q" }, saved);
    const result = await run;
    assert.deepEqual(
      source.asked.map((a) => a.cursor),
      ["p1", "p2"],
    );
    assert.equal(source.asked[0]!.query.since, "2023-06-01");
    assert.equal(result.resumedFrom, "p1");
    assert.deepEqual(log.at(-1), "save null 2024-02-01");
  });

  it("a given since wins over the watermark", async () => {
    const saved = { cursor: null, watermark: "2023-06-01", jobId: null, updatedAt: "" };
    const { run, source } = harness({ type: "openalex", query: "q", since: "2020-01-01" }, saved);
    await run;
    assert.equal(source.asked[0]!.query.since, "2020-01-01");
  });

  it("stops at the limit; a page cut short is asked again by the next run", async () => {
    const { run, log } = harness({ type: "openalex", query: "q", limit: 3 });
    const result = await run;
    assert.deepEqual(log, ["admit W1,W2", "save p1 null", "admit W3", "save p1 null"]);
    assert.equal(result.fetched, 3);
    assert.equal(result.cursor, "p1");
  });

  it("a crash while admitting a page saves nothing past the page before it", async () => {
    const { run, log } = harness({ type: "openalex", query: "q" }, null, 1);
    await assert.rejects(run, /crash while admitting/);
    assert.deepEqual(log, ["admit W1,W2", "save p1 null"]);
  });
});

describe("SourceSpecSchema and sourceQueryKey", () => {
  it("needs a query, ids or params, and an ISO since", () => {
    assert.equal(SourceSpecSchema.safeParse({ type: "pmc" }).success, false);
    assert.equal(SourceSpecSchema.safeParse({ type: "pmc", query: "x", since: "last week" }).success, false);
    assert.equal(SourceSpecSchema.safeParse({ type: "pmc", query: "x", bucket: "b" }).success, false);
    assert.equal(SourceSpecSchema.safeParse({ type: "pmc", ids: ["PMC1"], since: "2024-01-31" }).success, true);
  });

  it("one query is one key whatever its since, limit or parameter order", () => {
    const a = sourceQueryKey({ type: "openalex", query: "q", params: { a: "1", b: "2" } });
    assert.equal(
      a,
      sourceQueryKey({ type: "openalex", query: "q", params: { b: "2", a: "1" }, since: "2024-01-01", limit: 5 }),
    );
    assert.notEqual(a, sourceQueryKey({ type: "openalex", query: "other", params: { a: "1", b: "2" } }));
    assert.notEqual(a, sourceQueryKey({ type: "pmc", query: "q", params: { a: "1", b: "2" } }));
  });
});

describe("recordToRef", () => {
  const withPdf = (text: string): SourceRecord => ({
    id: "10.1/x",
    title: "A paper",
    text,
    meta: { source: "unpaywall", doi: "10.1/x", pdfUrl: "https://repo.example.org/x.pdf" },
  });

  it("a PDF-only record is skipped unless the pipeline downloads; then it is a url document with its metadata", () => {
    assert.equal(recordToRef("unpaywall", withPdf("")), null);
    assert.deepEqual(recordToRef("unpaywall", withPdf(""), true), {
      id: "10.1/x",
      source: "unpaywall:10.1/x",
      kind: "url",
      url: "https://repo.example.org/x.pdf",
      title: "A paper",
      meta: { source: "unpaywall", doi: "10.1/x", pdfUrl: "https://repo.example.org/x.pdf" },
    });
  });

  it("through a downloading pipeline a record with an abstract and a PDF is its PDF (the full text); without a PDF, its text", () => {
    assert.equal(recordToRef("openalex", withPdf("An abstract."), true)?.kind, "url");
    assert.equal(recordToRef("openalex", withPdf("An abstract."))?.kind, "inline");
    const noPdf: SourceRecord = { ...withPdf("An abstract."), meta: { source: "openalex" } };
    assert.deepEqual(
      [recordToRef("openalex", noPdf, true)?.kind, recordToRef("openalex", { ...noPdf, text: " " }, true)],
      ["inline", null],
    );
  });

  it("runSourcePages with pdfs admits PDF-only records instead of listing them as skipped", async () => {
    const source: LiteratureSource = {
      type: "unpaywall",
      fetchPage: async () => ({
        records: [withPdf(""), { ...withPdf(""), id: "10.1/closed", meta: { source: "unpaywall" } }],
        next: null,
      }),
    };
    const admitted: string[] = [];
    const run = (pdfs: boolean) =>
      runSourcePages({
        source,
        http,
        spec: { type: "unpaywall", ids: ["10.1/x", "10.1/closed"] },
        saved: null,
        pdfs,
        admit: async (refs) => void admitted.push(...refs.map((r) => `${r.kind}:${r.id}`)),
        save: async () => undefined,
      });
    const without = await run(false);
    assert.deepEqual(
      without.skipped.map((s) => s.id),
      ["10.1/x", "10.1/closed"],
    );
    assert.match(
      without.skipped[0]!.reason,
      /a PDF at https:\/\/repo\.example\.org\/x\.pdf: ingest with a pipeline that downloads, e\.g\. pdf-two-phase/,
    );
    const withPdfs = await run(true);
    assert.deepEqual(admitted, ["url:10.1/x"]);
    assert.deepEqual(
      withPdfs.skipped.map((s) => [s.id, s.reason]),
      [["10.1/closed", "no text to index"]],
    );
  });
});
