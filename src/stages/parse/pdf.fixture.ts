import { PDFDocument, StandardFonts } from "pdf-lib";
import { pngSize, renderTextImage } from "../../models/render-text-image.fixture.ts";

/**
 * Test helper: a PDF of text pages (Helvetica) and scanned-looking pages (`null`: a drawing, no text
 * layer), so OCR paths run on PDFs the test wrote itself.
 *
 * @example
 * const bytes = await pdfOfPages(["A real text layer.", null]); // page 2 needs OCR
 */
export async function pdfOfPages(pages: ReadonlyArray<string | null>): Promise<Uint8Array> {
  const doc = await PDFDocument.create();
  const font = await doc.embedFont(StandardFonts.Helvetica);
  for (const text of pages) {
    const page = doc.addPage([400, 300]);
    if (text === null) page.drawRectangle({ x: 20, y: 20, width: 50, height: 50 });
    else page.drawText(text, { x: 20, y: 250, size: 12, font });
  }
  return doc.save();
}

/**
 * Test helper: a one-page PDF holding nothing but a picture of `lines` (Latin script), as if
 * scanned at 150 dpi; OCR reads it back.
 *
 * @example
 * const bytes = await scannedPdf(["Invoices are archived for seven years."]);
 */
export async function scannedPdf(lines: readonly string[]): Promise<Uint8Array> {
  const png = await renderTextImage(lines, { font: "latin" });
  const doc = await PDFDocument.create();
  const image = await doc.embedPng(png);
  const { width, height } = pngSize(png);
  const page = doc.addPage([(width * 72) / 150, (height * 72) / 150]);
  page.drawImage(image, { x: 0, y: 0, width: page.getWidth(), height: page.getHeight() });
  return doc.save();
}
