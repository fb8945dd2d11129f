/**
 * The behaviour every OcrEngine backend must share (in-process, gRPC client, …), as a `node:test`
 * suite a backend's test file runs against its own factory. It talks to the port only; the images
 * are rendered from text the suite writes, so accuracy is measured as a character error rate.
 */
import assert from "node:assert/strict";
import { after, before, describe, it, type TestContext } from "node:test";
import { PDFDocument, StandardFonts } from "pdf-lib";
import { charErrorRate } from "../text/char-error-rate.ts";
import type { OcrEngine, OcrInput, OcrResult } from "./ports.ts";
import { findThaiFont, pngSize, renderTextImage } from "./render-text-image.fixture.ts";

/** Most a clean render may be misread by (tesseract.js with the best_int models read these texts at 0%). */
const MAX_CER = 0.05;

const ENGLISH = [
  "The quarterly report was filed on Monday morning.",
  "Invoices above 500 dollars need two signatures.",
  "Please send the signed copy back by Friday.",
];
const THAI = [
  "กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทย",
  "ฝนตกหนักในช่วงบ่ายทำให้การจราจรติดขัด",
  "นักเรียนจำนวนมากเดินทางไปโรงเรียนด้วยรถไฟฟ้า",
  "ร้านกาแฟเปิดตั้งแต่เจ็ดโมงเช้าถึงหกโมงเย็น",
];
const PDF_PAGES = [
  ["This first page is only here to be skipped.", "Nothing on it should come back."],
  [
    "Sluice reads scanned pages with an OCR engine.",
    "Each page is rendered as an image first.",
    "The text then goes on to chunking and indexing.",
  ],
];
/**
 * Why a Thai case skipped: the machine has no Thai font to render the test image with.
 *
 * @example
 * if (findThaiFont() === null) return t.skip(NO_THAI_FONT);
 */
export const NO_THAI_FONT = "no Thai font: install fonts-thai-tlwg";

/**
 * Asserts the OCR text is within `maxCer` of `expected` (lines joined by newlines), printing the
 * CER and both texts when it is not, and returns the CER.
 *
 * @example
 * assertReads(result, ["Invoices above 500 dollars need two signatures."], "english");
 */
export function assertReads(result: OcrResult, expected: readonly string[], label: string, maxCer = MAX_CER): number {
  const reference = expected.join("\n");
  const cer = charErrorRate(reference, result.text);
  assert.ok(
    cer < maxCer,
    `${label}: CER ${(cer * 100).toFixed(2)}% >= ${maxCer * 100}%\nexpected: ${JSON.stringify(reference)}\nread:     ${JSON.stringify(result.text)}`,
  );
  return cer;
}

/**
 * A PDF with one page per entry of `pages`, each line in 24 pt Helvetica (a real text layer, so
 * it also tells whether the engine rendered the page at all).
 *
 * @example
 * const pdf = await textPdf([["page one"], ["page two"]]);
 */
export async function textPdf(pages: ReadonlyArray<readonly string[]>): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const lines of pages) {
    const page = doc.addPage([612, 792]); // US Letter, in points
    lines.forEach((line, i) => page.drawText(line, { x: 54, y: 700 - i * 40, size: 24, font }));
  }
  return doc.save();
}

function percent(cer: number): string {
  return `${(cer * 100).toFixed(2)}%`;
}

/** Runs `work` and asserts it rejects with an error whose `code` is VALIDATION_FAILED. */
async function assertInvalid(work: Promise<unknown>, label: string): Promise<void> {
  await assert.rejects(work, (err: unknown) => {
    const code = (err as { code?: unknown } | null)?.code;
    assert.equal(
      code,
      "VALIDATION_FAILED",
      `${label}: expected code VALIDATION_FAILED, got ${String(code)} (${err instanceof Error ? err.message : String(err)})`,
    );
    return true;
  });
}

/**
 * Registers the conformance suite for one OCR backend. `factory` builds a fresh engine; the suite
 * warms it up once, reuses it for every case and closes it at the end.
 *
 * @example
 * describeOcrConformance("tesseract.js", () => new TesseractOcr());
 * describeOcrConformance("grpc", async () => new GrpcOcrClient(await startTestServer()));
 */
export function describeOcrConformance(name: string, factory: () => OcrEngine | Promise<OcrEngine>): void {
  void describe(`OcrEngine conformance: ${name}`, () => {
    let ocr: OcrEngine;
    let englishPng: Uint8Array;
    let english: Promise<OcrResult> | undefined;
    /** The default-language read of the English image, shared by the cases that inspect it. */
    const readEnglish = (): Promise<OcrResult> =>
      (english ??= ocr.recognize({ data: englishPng, mediaType: "image/png" }));

    before(async () => {
      englishPng = await renderTextImage(ENGLISH, { font: "latin" });
      ocr = await factory();
      await ocr.warmUp();
    });
    after(async () => {
      await ocr.close();
    });

    void it("has a non-empty id", () => {
      assert.equal(typeof ocr.id, "string");
      assert.ok(ocr.id.length > 0);
    });

    void it(`reads an English image with its default languages (CER < ${MAX_CER * 100}%)`, async (t: TestContext) => {
      const result = await readEnglish();
      t.diagnostic(`CER ${percent(assertReads(result, ENGLISH, "english"))}`);
      assert.equal(result.text, result.text.normalize("NFC"));
      assert.equal(result.text, result.text.trim());
    });

    void it("gives every word a non-empty text, a box inside the image and a confidence in 0-100", async () => {
      const result = await readEnglish();
      const { width, height } = pngSize(englishPng);
      assert.ok(result.words.length >= 20, `only ${result.words.length} words`);
      for (const word of result.words) {
        const { x0, y0, x1, y1 } = word.bbox;
        assert.ok(word.text.trim().length > 0, `empty word ${JSON.stringify(word)}`);
        assert.ok(
          0 <= x0 && x0 <= x1 && x1 <= width && 0 <= y0 && y0 <= y1 && y1 <= height,
          `${JSON.stringify(word)} outside ${width}x${height}`,
        );
        assert.ok(word.confidence >= 0 && word.confidence <= 100, `confidence ${word.confidence}`);
      }
      assert.ok(result.confidence >= 0 && result.confidence <= 100, `page confidence ${result.confidence}`);
      assert.ok(result.confidence > 50, `a clean render read with confidence ${result.confidence}`);
    });

    void it("reads English with params.languages: eng and reports the languages used", async (t: TestContext) => {
      const result = await ocr.recognize(
        { data: englishPng, mediaType: "image/png" },
        { params: { languages: "eng" } },
      );
      t.diagnostic(`CER ${percent(assertReads(result, ENGLISH, "english, languages eng"))}`);
      assert.equal(result.languages, "eng");
    });

    void it(`reads a Thai image with tha+eng (CER < ${MAX_CER * 100}%), NFC with SARA AM as one code point`, async (t: TestContext) => {
      if (findThaiFont() === null) {
        t.skip(NO_THAI_FONT);
        return;
      }
      const png = await renderTextImage(THAI, { font: "thai" });
      const result = await ocr.recognize({ data: png, mediaType: "image/png" }, { params: { languages: "tha+eng" } });
      t.diagnostic(`CER ${percent(assertReads(result, THAI, "thai"))}`);
      assert.equal(result.text, result.text.normalize("NFC"));
      assert.doesNotMatch(result.text, /\u0E4D[\u0E48-\u0E4B]?\u0E32/, "SARA AM left as NIKHAHIT + SARA AA");
      assert.ok(result.languages.split("+").includes("tha"), `languages ${result.languages}`);
    });

    void it(`reads the requested page of a PDF (CER < ${MAX_CER * 100}%)`, async (t: TestContext) => {
      const pdf = await textPdf(PDF_PAGES);
      const result = await ocr.recognize(
        { data: pdf, mediaType: "application/pdf", page: 2 },
        { params: { languages: "eng" } },
      );
      t.diagnostic(`CER ${percent(assertReads(result, PDF_PAGES[1]!, "pdf page 2"))}`);
    });

    void it("rejects a PDF page that does not exist with VALIDATION_FAILED", async () => {
      const pdf = await textPdf(PDF_PAGES);
      await assertInvalid(ocr.recognize({ data: pdf, mediaType: "application/pdf", page: 3 }), "page 3 of 2");
      await assertInvalid(ocr.recognize({ data: pdf, mediaType: "application/pdf", page: 0 }), "page 0");
    });

    void it("rejects bytes that are not an image, not the declared type, or broken, with VALIDATION_FAILED", async () => {
      const cases: Array<[string, OcrInput]> = [
        ["text as png", { data: new TextEncoder().encode("definitely not an image"), mediaType: "image/png" }],
        ["empty", { data: new Uint8Array(0), mediaType: "image/jpeg" }],
        ["png declared jpeg", { data: englishPng, mediaType: "image/jpeg" }],
        ["png declared pdf", { data: englishPng, mediaType: "application/pdf" }],
        [
          "broken pdf",
          { data: new TextEncoder().encode("%PDF-1.7\nthis is not really a pdf\n%%EOF"), mediaType: "application/pdf" },
        ],
        ["truncated png", { data: englishPng.slice(0, 100), mediaType: "image/png" }],
      ];
      for (const [label, input] of cases) await assertInvalid(ocr.recognize(input), label);
    });

    void it("rejects with AbortError when the signal is already aborted", async () => {
      const controller = new AbortController();
      controller.abort();
      await assert.rejects(ocr.recognize({ data: englishPng, mediaType: "image/png" }, { signal: controller.signal }), {
        name: "AbortError",
      });
    });
  });
}
