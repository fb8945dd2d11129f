import type { getDocumentProxy } from "unpdf";
import { SluiceError } from "../../contracts/errors.ts";
import { SAFE_PDFJS_OPTIONS } from "../../text/safe-pdfjs-options.ts";

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;

export interface RenderPdfPageOptions {
  /** Pixels per PDF point. Default 300/72: tesseract reads best at about 300 dpi. */
  scale?: number;
}

const DEFAULT_SCALE = 300 / 72;
/** About 14x14 inches at 300 dpi; a larger page is rendered at a smaller scale rather than exhaust memory. */
const MAX_PIXELS = 4200 * 4200;

/**
 * Renders one page of a PDF to a PNG with pdf.js (through unpdf) on `@napi-rs/canvas`, white
 * background, for OCR. A page that would exceed about 17.6 megapixels at `scale` is rendered
 * smaller. Also returns the page count, so callers can name it in errors.
 *
 * @param bytes the PDF's bytes (not modified: pdf.js gets a copy, as it may detach its input)
 * @param page 1-based page number
 * @throws SluiceError `VALIDATION_FAILED` for bytes pdf.js cannot open (corrupt, encrypted, not
 *   a PDF) and for a page number outside 1..pages
 *
 * @example
 * const { png, pages } = await renderPdfPage(await readFile("scan.pdf"), 1);
 * const text = (await ocr.recognize({ data: png, mediaType: "image/png" })).text;
 */
export async function renderPdfPage(
  bytes: Uint8Array,
  page: number,
  options: RenderPdfPageOptions = {},
): Promise<{ png: Uint8Array; pages: number }> {
  const scale = options.scale ?? DEFAULT_SCALE;
  if (!(scale > 0 && Number.isFinite(scale)))
    throw new SluiceError("VALIDATION_FAILED", `PDF render scale must be a positive number, got ${scale}`);
  installTransferToFixedLength();
  const pdf = await openPdf(bytes);
  try {
    const pages = pdf.numPages;
    if (!Number.isInteger(page) || page < 1 || page > pages) {
      throw new SluiceError(
        "VALIDATION_FAILED",
        `PDF page ${page} does not exist: the document has ${pages} page${pages === 1 ? "" : "s"}`,
        { details: { page, pages } },
      );
    }
    const { width, height } = (await pdf.getPage(page)).getViewport({ scale: 1 });
    const fitted = Math.min(scale, Math.sqrt(MAX_PIXELS / Math.max(1, width * height)));
    try {
      const { renderPageAsImage } = await import("unpdf");
      const png = await renderPageAsImage(pdf, page, { scale: fitted, canvasImport: () => import("@napi-rs/canvas") });
      return { png: new Uint8Array(png), pages };
    } catch (err) {
      throw new SluiceError("VALIDATION_FAILED", `PDF page ${page} could not be rendered: ${messageOf(err)}`, {
        details: { page },
        cause: err,
      });
    }
  } finally {
    await pdf.destroy();
  }
}

async function openPdf(bytes: Uint8Array): Promise<PdfDocument> {
  try {
    // pdf.js loads with the first PDF this process renders, not with the OCR backend.
    const { getDocumentProxy } = await import("unpdf");
    return await getDocumentProxy(new Uint8Array(bytes), SAFE_PDFJS_OPTIONS);
  } catch (err) {
    const encrypted = (err as { name?: unknown } | null)?.name === "PasswordException";
    const reason = encrypted ? "the PDF is encrypted (password required)" : `not a readable PDF (${messageOf(err)})`;
    throw new SluiceError("VALIDATION_FAILED", `OCR input: ${reason}`, { cause: err });
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * pdf.js 5 packs font data with `ArrayBuffer.prototype.transferToFixedLength` (ES2024), which
 * Node 20 lacks: without it every page with text renders blank ("o.transferToFixedLength is not
 * a function" in its warnings). Installed on first render, only where missing; a copy stands in
 * for the transfer, which is all pdf.js relies on.
 */
function installTransferToFixedLength(): void {
  const proto = ArrayBuffer.prototype as ArrayBuffer & { transferToFixedLength?: unknown };
  if (typeof proto.transferToFixedLength === "function") return;
  Object.defineProperty(ArrayBuffer.prototype, "transferToFixedLength", {
    configurable: true,
    writable: true,
    value: function transferToFixedLength(this: ArrayBuffer, newLength: number = this.byteLength): ArrayBuffer {
      const out = new ArrayBuffer(newLength);
      new Uint8Array(out).set(new Uint8Array(this, 0, Math.min(newLength, this.byteLength)));
      return out;
    },
  });
}
