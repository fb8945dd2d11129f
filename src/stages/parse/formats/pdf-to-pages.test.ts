import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { PDFDocument, PDFHexString, StandardFonts } from "pdf-lib";
import { isSluiceError } from "../../../contracts/errors.ts";
import { pdfToPages } from "./pdf-to-pages.ts";

const fixture = (name: string): string =>
  fileURLToPath(new URL(`../../../../../shared/fixtures/pdf/${name}`, import.meta.url));
const TRACEMONKEY = fixture("tracemonkey-pldi-09.pdf");
const RFAQ = fixture("R-FAQ.pdf");

/** A PDF with one page per entry, each page one line of text per string, top to bottom. */
async function makePdf(pages: string[][], title?: string): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  if (title !== undefined) doc.setTitle(title);
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([612, 792]);
    lines.forEach((line, i) => page.drawText(line, { x: 72, y: 720 - i * 14, size: 11, font }));
  }
  return doc.save();
}

async function rejectsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSluiceError(err), String(err));
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });
}

void describe("pdfToPages", () => {
  void it("round-trips a generated PDF page by page, with its title and joined hyphenation", async () => {
    const bytes = await makePdf(
      [
        [
          "Sluice ingests documents.",
          "The imple-",
          "mentation is resumable; a well-",
          "known trick is run-time checks.",
          "We use run-",
          "time checks too.",
        ],
        ["Second page text."],
        [],
      ],
      "Generated Fixture",
    );
    const copy = bytes.slice();
    const { title, pages } = await pdfToPages(bytes, "gen/fixture.pdf");
    assert.equal(title, "Generated Fixture");
    assert.deepEqual(
      pages.map((p) => p.number),
      [1, 2, 3],
    );
    assert.equal(
      pages[0]?.text,
      "Sluice ingests documents.\nThe implementation is resumable; a wellknown trick is run-time checks.\nWe use run-time checks too.",
    );
    assert.equal(pages[1]?.text, "Second page text.");
    assert.equal(pages[2]?.text, "", "a page without text is kept, empty");
    assert.deepEqual(bytes, copy, "the caller's bytes are left intact");
  });

  void it("falls back to the file name for the title", async () => {
    const { title } = await pdfToPages(await makePdf([["same size text"]]), "reports/q3-summary.pdf");
    assert.equal(title, "q3-summary");
  });

  void it("reads a two-column page column by column even when it was drawn row by row", async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const bold = await doc.embedFont(StandardFonts.HelveticaBold);
    const page = doc.addPage([612, 792]);
    page.drawText("A Paper Title Spanning Both Columns Of The Page", { x: 90, y: 740, size: 20, font: bold });
    const left = Array.from({ length: 12 }, (_, i) => `Left column line ${i + 1} of the first story.`);
    const right = Array.from({ length: 12 }, (_, i) => `Right column line ${i + 1} of the second story.`);
    for (let i = 0; i < 12; i++) {
      page.drawText(left[i] as string, { x: 54, y: 680 - i * 12, size: 10, font });
      page.drawText(right[i] as string, { x: 320, y: 680 - i * 12, size: 10, font });
    }
    page.drawText("A full-width figure caption that crosses the gutter between columns.", {
      x: 54,
      y: 500,
      size: 10,
      font,
    });
    page.drawText("Left again after the figure, first line.", { x: 54, y: 470, size: 10, font });
    page.drawText("Right again after the figure, first line.", { x: 320, y: 470, size: 10, font });
    for (let i = 1; i < 8; i++) {
      page.drawText(`Left again after the figure, line ${i + 1}.`, { x: 54, y: 470 - i * 12, size: 10, font });
      page.drawText(`Right again after the figure, line ${i + 1}.`, { x: 320, y: 470 - i * 12, size: 10, font });
    }
    const { title, pages } = await pdfToPages(await doc.save(), "two-column.pdf");
    assert.equal(title, "A Paper Title Spanning Both Columns Of The Page");
    const lines = (pages[0]?.text ?? "").split("\n").filter((l) => l !== "");
    const expected = [
      "A Paper Title Spanning Both Columns Of The Page",
      ...left,
      ...right,
      "A full-width figure caption that crosses the gutter between columns.",
      "Left again after the figure, first line.",
      ...Array.from({ length: 7 }, (_, i) => `Left again after the figure, line ${i + 2}.`),
      "Right again after the figure, first line.",
      ...Array.from({ length: 7 }, (_, i) => `Right again after the figure, line ${i + 2}.`),
    ];
    assert.deepEqual(lines, expected);
  });

  void it("keeps single-column pages with short lines and right-aligned numbers in line order", async () => {
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    const page = doc.addPage([612, 792]);
    const entries = Array.from({ length: 12 }, (_, i) => [`Chapter ${i + 1}: a topic`, String(i * 7 + 1)] as const);
    entries.forEach(([name, num], i) => {
      page.drawText(name, { x: 72, y: 700 - i * 14, size: 11, font });
      page.drawText(num, { x: 520, y: 700 - i * 14, size: 11, font });
    });
    const { pages } = await pdfToPages(await doc.save(), "toc.pdf");
    assert.deepEqual(
      pages[0]?.text.split("\n"),
      entries.map(([name, num]) => `${name} ${num}`),
    );
  });

  void it("rejects truncated bytes, garbage after a %PDF header and non-PDF bytes as PDF_CORRUPT", async () => {
    const good = await makePdf([["hello world"]]);
    await rejectsWith(
      pdfToPages(good.subarray(0, Math.floor(good.length * 0.6)), "docs/cut.pdf"),
      "PDF_CORRUPT",
      /^docs\/cut\.pdf: /,
    );
    await rejectsWith(
      pdfToPages(new TextEncoder().encode(`%PDF-1.7\n${"garbage ".repeat(500)}`), "docs/garbage.pdf"),
      "PDF_CORRUPT",
      /^docs\/garbage\.pdf: /,
    );
    await rejectsWith(
      pdfToPages(new TextEncoder().encode("this is not a PDF"), "docs/text.pdf"),
      "PDF_CORRUPT",
      /^docs\/text\.pdf: not a valid PDF/,
    );
  });

  void it("rejects a password-protected PDF as PDF_ENCRYPTED", async () => {
    // A Standard security handler (RC4, R2) whose /U entry no empty password can produce: a user password is required.
    const doc = await PDFDocument.create();
    const font = await doc.embedFont(StandardFonts.Helvetica);
    doc.addPage([300, 300]).drawText("secret", { x: 20, y: 200, size: 12, font });
    const hex = (byte: string): PDFHexString => PDFHexString.of(byte.repeat(32));
    const ctx = doc.context;
    ctx.trailerInfo.Encrypt = ctx.register(
      ctx.obj({ Filter: "Standard", V: 1, R: 2, Length: 40, O: hex("ab"), U: hex("cd"), P: -44 }),
    );
    ctx.trailerInfo.ID = ctx.obj([
      PDFHexString.of("0123456789abcdef0123456789abcdef"),
      PDFHexString.of("0123456789abcdef0123456789abcdef"),
    ]);
    const bytes = await doc.save({ useObjectStreams: false });
    await rejectsWith(
      pdfToPages(bytes, "docs/locked.pdf"),
      "PDF_ENCRYPTED",
      /^docs\/locked\.pdf: PDF is encrypted \(password required\)$/,
    );
  });

  void it("prints nothing and fetches nothing (pdf.js warnings silenced, no font or CMap downloads)", async () => {
    // Helvetica is not embedded: pdf.js would like the standard font data, and warns when a PDF needs repair.
    const good = await makePdf([["hello world"]]);
    const calls: unknown[][] = [];
    const original = { log: console.log, warn: console.warn, info: console.info, error: console.error };
    const originalFetch = globalThis.fetch;
    const record = (...args: unknown[]): void => void calls.push(args);
    Object.assign(console, { log: record, warn: record, info: record, error: record });
    globalThis.fetch = (input: string | URL | Request): Promise<Response> => {
      calls.push(["fetch", String(input instanceof Request ? input.url : input)]);
      return Promise.reject(new Error("network disabled in this test"));
    };
    try {
      assert.equal((await pdfToPages(good, "ok.pdf")).pages[0]?.text, "hello world");
      await assert.rejects(pdfToPages(good.subarray(0, Math.floor(good.length * 0.9)), "cut.pdf"));
    } finally {
      Object.assign(console, original);
      globalThis.fetch = originalFetch;
    }
    assert.deepEqual(calls, []);
  });

  void it(
    "reads the tracemonkey paper's left column first paragraph contiguously",
    { skip: !existsSync(TRACEMONKEY) && "../shared fixtures absent" },
    async () => {
      const { title, pages } = await pdfToPages(new Uint8Array(await readFile(TRACEMONKEY)), "tracemonkey-pldi-09.pdf");
      assert.equal(pages.length, 14);
      assert.equal(title, "Trace-based Just-in-Time Type Specialization for Dynamic Languages");
      const page1 = pages[0]?.text ?? "";
      // The abstract (left column) reads as one paragraph, with its line-end hyphens joined.
      const abstract =
        "Dynamic languages such as JavaScript are more difficult to compile than statically typed ones. Since no concrete type information\n" +
        "is available, traditional compilers need to emit generic code that can\n" +
        "handle all possible type combinations at runtime. We present an alternative compilation technique for dynamically-typed languages";
      assert.ok(page1.includes(abstract), page1.slice(0, 1500));
      // The left column's introduction comes before the right column's continuation.
      const left = page1.indexOf("Dynamic languages such as JavaScript, Python, and Ruby, are popular");
      const right = page1.indexOf("and is used for the application logic of browser-based productivity");
      assert.ok(left > 0 && right > left, `left ${left}, right ${right}`);
    },
  );

  void it("reads all 52 pages of the R FAQ", { skip: !existsSync(RFAQ) && "../shared fixtures absent" }, async () => {
    const { title, pages } = await pdfToPages(new Uint8Array(await readFile(RFAQ)), "R-FAQ.pdf");
    assert.equal(pages.length, 52);
    assert.equal(title, "R FAQ");
    assert.ok(pages.some((p) => p.text.includes("How can I")));
    assert.ok(pages.every((p, i) => p.number === i + 1));
  });
});
