import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { PDFDocument, StandardFonts } from "pdf-lib";
import type { DocumentRef, RawDocument } from "../../../contracts/document.ts";
import { isSluiceError } from "../../../contracts/errors.ts";
import { parseBytes } from "./index.ts";

const RFAQ = fileURLToPath(new URL("../../../../../shared/fixtures/pdf/R-FAQ.pdf", import.meta.url));
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

function raw(source: string, bytes: Uint8Array, mediaType: string, extra: Partial<DocumentRef> = {}): RawDocument {
  return {
    ref: { id: source, source, kind: "file", path: `/abs/${source}`, meta: {}, ...extra },
    mediaType,
    bytes: new Uint8Array(bytes),
  };
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => isSluiceError(err) && err.code === code && message.test(err.message));
}

void describe("parseBytes", () => {
  void it("parses plain text with the file name as title", async () => {
    const parsed = await parseBytes(raw("notes/todo.txt", enc("\uFEFFBuy milk  \r\nCall Bob\r\n\r\n"), "text/plain"));
    assert.deepEqual(parsed, { title: "todo", text: "Buy milk\nCall Bob", mediaType: "text/plain" });
  });

  void it("parses Markdown and HTML", async () => {
    const md = await parseBytes(raw("docs/guide.md", enc("# Guide\n\nUse **sluice**."), "text/markdown"));
    assert.deepEqual(md, { title: "Guide", text: "Guide\n\nUse sluice.", mediaType: "text/markdown" });
    const html = await parseBytes(raw("site/index.html", enc("<title>Home</title><p>Hello&amp;bye</p>"), "text/html"));
    assert.deepEqual(html, { title: "Home", text: "Hello&bye", mediaType: "text/html" });
  });

  void it("parses inline (BEIR) documents as plain text with their title", async () => {
    const parsed = await parseBytes({
      ref: {
        id: "d1",
        source: "corpus.jsonl:3",
        kind: "inline",
        text: "Body",
        title: "T",
        mediaType: "text/plain",
        meta: {},
      },
      mediaType: "text/plain",
      bytes: new TextEncoder().encode("Body"),
    });
    assert.deepEqual(parsed, { title: "T", text: "Body", mediaType: "text/plain" });
  });

  void it("parses a generated PDF into pages joined by blank lines", async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    doc.addPage([300, 300]).drawText("Page one text.", { x: 20, y: 250, size: 12, font });
    doc.addPage([300, 300]).drawText("Page two text.", { x: 20, y: 250, size: 12, font });
    const parsed = await parseBytes(raw("papers/two.pdf", await doc.save(), "application/pdf"));
    assert.equal(parsed.mediaType, "application/pdf");
    assert.equal(parsed.title, "two");
    assert.equal(parsed.text, "Page one text.\n\nPage two text.");
    assert.deepEqual(parsed.pages, [
      { number: 1, text: "Page one text.", method: "text-layer" },
      { number: 2, text: "Page two text.", method: "text-layer" },
    ]);
  });

  void it("fails a PDF without a text layer with DOCUMENT_EMPTY (needsOcr), or returns empty pages when allowed", async () => {
    const doc = await PDFDocument.create();
    doc.addPage([300, 300]).drawRectangle({ x: 10, y: 10, width: 100, height: 100 });
    const bytes = await doc.save();
    await assert.rejects(parseBytes(raw("scans/scan.pdf", bytes, "application/pdf")), (err: unknown) => {
      assert.ok(isSluiceError(err));
      assert.equal(err.code, "DOCUMENT_EMPTY");
      assert.match(err.message, /^scans\/scan\.pdf: PDF has 1 page but no text layer/);
      assert.equal(err.details?.["needsOcr"], true);
      return true;
    });
    const parsed = await parseBytes(raw("scans/scan.pdf", bytes, "application/pdf"), { allowEmptyPdfText: true });
    assert.deepEqual(parsed.pages, [{ number: 1, text: "", method: "text-layer" }]);
  });

  void it("fails whitespace-only documents with DOCUMENT_EMPTY naming the file", async () => {
    await rejectsWith(
      parseBytes(raw("docs/blank.txt", enc(" \n\t\n"), "text/plain")),
      "DOCUMENT_EMPTY",
      /^docs\/blank\.txt: no text left after parsing/,
    );
    await rejectsWith(
      parseBytes(raw("docs/only-script.html", enc("<script>x()</script>"), "text/html")),
      "DOCUMENT_EMPTY",
      /^docs\/only-script\.html: /,
    );
  });

  void it("fails unsupported types with UNSUPPORTED_TYPE listing the supported extensions", async () => {
    await rejectsWith(
      parseBytes(raw("data/table.csv", enc("a,b\n1,2\n"), "application/octet-stream")),
      "UNSUPPORTED_TYPE",
      /^data\/table\.csv: unsupported document type .*\.txt \.md \.markdown \.html \.htm \.pdf/,
    );
  });

  void it("passes on binary, encoding and PDF errors", async () => {
    await rejectsWith(
      parseBytes(raw("img.txt", new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), "text/plain")),
      "DOCUMENT_BINARY",
      /^img\.txt: /,
    );
    await rejectsWith(
      parseBytes(raw("latin1.md", new Uint8Array([0x63, 0x61, 0x66, 0xe9]), "text/markdown")),
      "DOCUMENT_ENCODING",
      /^latin1\.md: invalid UTF-8 at byte offset 3/,
    );
    await rejectsWith(
      parseBytes(raw("bad.pdf", enc("%PDF-1.4\nnothing here"), "application/pdf")),
      "PDF_CORRUPT",
      /^bad\.pdf: /,
    );
  });

  void it("parses the R FAQ into 52 pages", { skip: !existsSync(RFAQ) && "../shared fixtures absent" }, async () => {
    const parsed = await parseBytes(raw("R-FAQ.pdf", new Uint8Array(await readFile(RFAQ)), "application/pdf"));
    assert.equal(parsed.pages?.length, 52);
    assert.ok(parsed.text.includes("How can I"));
    assert.equal(parsed.text, parsed.pages?.map((p) => p.text).join("\n\n"));
  });
});
