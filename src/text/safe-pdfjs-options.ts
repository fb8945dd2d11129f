/** pdf.js `VerbosityLevel.ERRORS`: no "Warning: ..." lines on stdout. */
const VERBOSITY_ERRORS = 0;

/**
 * How Sluice opens untrusted PDFs with pdf.js: errors only, no eval, no fetching, no streaming or
 * range requests, no font faces, no XFA. Shared by parsing (`stages/parse`) and by page rendering
 * for OCR (`models/backends`), so it lives below both.
 *
 * @example
 * await getDocumentProxy(new Uint8Array(bytes), { ...SAFE_PDFJS_OPTIONS, stopAtErrors: false });
 */
export const SAFE_PDFJS_OPTIONS = {
  verbosity: VERBOSITY_ERRORS,
  isEvalSupported: false,
  useWorkerFetch: false,
  disableAutoFetch: true,
  disableStream: true,
  disableRange: true,
  disableFontFace: true,
  enableXfa: false,
} as const;
