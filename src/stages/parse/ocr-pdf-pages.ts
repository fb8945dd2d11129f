import type { Page } from "../../contracts/document.ts";
import type { ModelCallOptions, OcrEngine } from "../../models/ports.ts";
import { assessTextLayer, type TextLayerVerdict } from "../../text/text-layer-quality.ts";

/** Tesseract writes SARA AM (U+0E33) as NIKHAHIT + SARA AA, a tone mark (if any) in between. */
const SPLIT_SARA_AM = /\u0E4D([\u0E48-\u0E4B]?)\u0E32/g;

/** What {@link ocrPdfPages} did to one page, for logs and the benchmark. */
export interface PageOcrReport {
  number: number;
  verdict: TextLayerVerdict;
  /** The text layer before OCR (`""` for a scanned page). */
  textLayer: string;
  /** Milliseconds the OCR call took. */
  ms: number;
}

/**
 * OCR text as the document IR keeps it: NFC, SARA AM as one code point (in case a backend left it
 * split), trailing spaces off each line.
 *
 * @example
 * normalizeOcrText("น\u0E49\u0E4D\u0E32 \n") // "น\u0E49\u0E33"
 */
export function normalizeOcrText(text: string): string {
  return text
    .normalize("NFC")
    .replace(SPLIT_SARA_AM, "$1\u0E33")
    .replace(/[^\S\n]+$/gm, "")
    .trim();
}

/** Per-page checkpoints: a document suspended or killed mid-way is not OCR'd again from page one. */
export interface OcrResume {
  /** Pages an earlier run read, by number. */
  done: ReadonlyMap<number, Page>;
  /** Called after each page OCR reads, before the next. */
  save(page: Page): Promise<void>;
}

/**
 * Reads with OCR the pages of a PDF whose text layer is missing or broken ({@link assessTextLayer}),
 * one page at a time through the model plane's OCR engine, which renders the page itself. An OCR'd
 * page gets the OCR text (see {@link normalizeOcrText}), `method: "ocr"` and the mean word
 * confidence; a broken page where OCR reads nothing keeps its text layer. Other pages are returned
 * as they are, in order. The signal is checked between pages; OCR errors (MODEL_UNAVAILABLE and
 * the like) propagate, so the node's policy decides on a retry.
 *
 * @param bytes the PDF (the engine renders `page` from it)
 * @param onPage called after each OCR'd page
 * @param resume pages read by an earlier run (taken as they are), and where to save each page read now
 *
 * @example
 * const pages = await ocrPdfPages(bytes, parsed.pages, services.ocr(), { signal, params: { languages: "tha+eng" } });
 */
export async function ocrPdfPages(
  bytes: Uint8Array,
  pages: readonly Page[],
  ocr: OcrEngine,
  call: ModelCallOptions,
  onPage?: (report: PageOcrReport) => void,
  resume?: OcrResume,
): Promise<Page[]> {
  const out: Page[] = [];
  for (const page of pages) {
    const earlier = resume?.done.get(page.number);
    if (earlier) {
      out.push(earlier);
      continue;
    }
    const { verdict } = assessTextLayer(page.text);
    if (verdict === "ok") {
      out.push(page);
      continue;
    }
    call.signal?.throwIfAborted();
    const started = performance.now();
    const result = await ocr.recognize({ data: bytes, mediaType: "application/pdf", page: page.number }, call);
    onPage?.({ number: page.number, verdict, textLayer: page.text, ms: performance.now() - started });
    const text = normalizeOcrText(result.text);
    const read: Page =
      text === "" && verdict === "broken"
        ? page
        : { number: page.number, text, method: "ocr", confidence: result.confidence };
    out.push(read);
    await resume?.save(read);
  }
  return out;
}
