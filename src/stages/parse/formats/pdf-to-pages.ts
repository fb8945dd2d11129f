import { basename, extname } from "node:path";
import type { getDocumentProxy } from "unpdf";
import { SluiceError } from "../../../contracts/errors.ts";
import { SAFE_PDFJS_OPTIONS } from "../../../text/safe-pdfjs-options.ts";

type PdfDocument = Awaited<ReturnType<typeof getDocumentProxy>>;

/** A run of text on one line, in page (device) space: x grows rightwards, y (the baseline) grows downwards. */
interface Segment {
  text: string;
  x0: number;
  x1: number;
  y: number;
  size: number;
  /** Position in the content stream, to keep the producer's order where layout does not decide. */
  order: number;
  /** Rotated or vertical text: kept in stream order, never used to find columns. */
  skewed: boolean;
}

interface RawItem {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

type Matrix = [number, number, number, number, number, number];

function multiply(m: Matrix, n: readonly number[]): Matrix {
  const [a, b, c, d, e, f] = m;
  const [a2 = 1, b2 = 0, c2 = 0, d2 = 1, e2 = 0, f2 = 0] = n;
  return [a * a2 + c * b2, b * a2 + d * b2, a * c2 + c * d2, b * c2 + d * d2, a * e2 + c * f2 + e, b * e2 + d * f2 + f];
}

/** Groups pdf.js text items into line segments, splitting a line where a wide gap (a column gutter) opens. */
function buildSegments(items: readonly RawItem[], viewport: Matrix): Segment[] {
  const segments: Segment[] = [];
  let current: Segment | undefined;
  let breakNext = false;
  let pendingSpace = false;
  for (const item of items) {
    const m = multiply(viewport, item.transform);
    const size = Math.hypot(m[2], m[3]) || item.height || 10;
    // Whitespace items (pdf.js fills gaps with " " spanning them, even a column gutter) only separate words.
    if (item.str.trim() === "") {
      if (item.str !== "") pendingSpace = true;
      if (item.hasEOL) breakNext = true;
      continue;
    }
    const x = m[4];
    const y = m[5];
    const skewed = Math.abs(m[1]) > Math.abs(m[0]) * 0.1 + 1e-6 || m[0] < 0;
    const width = item.width;
    const sameLine =
      current !== undefined &&
      !breakNext &&
      !skewed &&
      !current.skewed &&
      Math.abs(y - current.y) <= 0.6 * Math.max(size, current.size) &&
      x >= current.x1 - 0.5 * size &&
      x - current.x1 <= 1.5 * Math.max(size, current.size);
    if (current !== undefined && sameLine) {
      const gap = x - current.x1;
      if ((pendingSpace || gap > 0.2 * size) && !/\s$/.test(current.text) && !/^\s/.test(item.str)) current.text += " ";
      current.text += item.str;
      current.x1 = Math.max(current.x1, x + width);
      current.size = Math.max(current.size, size);
    } else {
      current = { text: item.str, x0: x, x1: x + width, y, size, order: segments.length, skewed };
      segments.push(current);
    }
    breakNext = item.hasEOL;
    pendingSpace = false;
  }
  return segments.filter((s) => s.text.trim() !== "");
}

function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] as number;
}

/**
 * Finds a vertical gutter splitting the region into side-by-side columns: an x that few segments cross, with enough
 * full-width-ish lines on both sides that overlap vertically. Returns undefined for single-column regions.
 */
function findGutter(segs: readonly Segment[]): number | undefined {
  const n = segs.length;
  if (n < 8) return undefined;
  const minX = Math.min(...segs.map((s) => s.x0));
  const maxX = Math.max(...segs.map((s) => s.x1));
  const width = maxX - minX;
  if (width <= 0) return undefined;
  const minSide = Math.max(3, 0.15 * n);
  let best: { x: number; crossing: number; runStart: number; runEnd: number } | undefined;
  let run: { start: number; crossing: number } | undefined;
  const candidates: Array<{ x: number; crossing: number; run: [number, number] }> = [];
  for (let x = minX + 0.2 * width; x <= minX + 0.8 * width; x += 1) {
    let crossing = 0;
    let left = 0;
    let right = 0;
    for (const s of segs) {
      if (s.x1 <= x + 0.5) left++;
      else if (s.x0 >= x - 0.5) right++;
      else crossing++;
    }
    const valid = left >= minSide && right >= minSide && crossing <= 0.2 * n;
    if (!valid) {
      run = undefined;
      continue;
    }
    if (run === undefined || run.crossing !== crossing) run = { start: x, crossing };
    candidates.push({ x, crossing, run: [run.start, x] });
  }
  for (const c of candidates) {
    const length = c.run[1] - c.run[0];
    if (
      best === undefined ||
      c.crossing < best.crossing ||
      (c.crossing === best.crossing && length > best.runEnd - best.runStart)
    ) {
      best = { x: c.x, crossing: c.crossing, runStart: c.run[0], runEnd: c.run[1] };
    }
  }
  if (best === undefined) return undefined;
  const gutter = (best.runStart + best.runEnd) / 2;
  const left = segs.filter((s) => s.x1 <= gutter + 0.5);
  const right = segs.filter((s) => s.x0 >= gutter - 0.5);
  // Columns hold lines of prose, not page numbers or the value column of a table.
  if (median(left.map((s) => s.x1 - s.x0)) < 0.2 * width || median(right.map((s) => s.x1 - s.x0)) < 0.2 * width)
    return undefined;
  // Side by side: the two groups must share most of their vertical extent.
  const top = Math.max(Math.min(...left.map((s) => s.y)), Math.min(...right.map((s) => s.y)));
  const bottom = Math.min(Math.max(...left.map((s) => s.y)), Math.max(...right.map((s) => s.y)));
  const shorter = Math.min(
    Math.max(...left.map((s) => s.y)) - Math.min(...left.map((s) => s.y)),
    Math.max(...right.map((s) => s.y)) - Math.min(...right.map((s) => s.y)),
  );
  if (bottom - top < 0.5 * shorter) return undefined;
  return gutter;
}

/**
 * Reading order for a region: stream order when it is a single column; otherwise the region is cut into bands at
 * every line that spans the gutter, and each band reads its left column, then its right column (recursively, for
 * three or more columns).
 */
function orderRegion(segs: Segment[], depth: number): Segment[] {
  const flat = segs.filter((s) => !s.skewed);
  const gutter = depth < 3 ? findGutter(flat) : undefined;
  if (gutter === undefined) return [...segs].sort((a, b) => a.order - b.order);
  const spanning = segs
    .filter((s) => !s.skewed && s.x0 < gutter - 0.5 && s.x1 > gutter + 0.5)
    .sort((a, b) => a.y - b.y || a.order - b.order);
  const bands: Array<{ left: Segment[]; right: Segment[] }> = Array.from({ length: spanning.length + 1 }, () => ({
    left: [],
    right: [],
  }));
  for (const s of segs) {
    if (!s.skewed && s.x0 < gutter - 0.5 && s.x1 > gutter + 0.5) continue;
    const band = spanning.filter((sp) => sp.y < s.y).length;
    const target = bands[band] as { left: Segment[]; right: Segment[] };
    if ((s.x0 + s.x1) / 2 < gutter) target.left.push(s);
    else target.right.push(s);
  }
  const out: Segment[] = [];
  bands.forEach((band, i) => {
    out.push(...orderRegion(band.left, depth + 1), ...orderRegion(band.right, depth + 1));
    const sp = spanning[i];
    if (sp !== undefined) out.push(sp);
  });
  return out;
}

/** Joins ordered segments: a space within a line, a newline between lines, a blank line across a wide vertical gap. */
function joinSegments(segs: readonly Segment[]): string {
  let text = "";
  let prev: Segment | undefined;
  for (const s of segs) {
    if (prev !== undefined) {
      const size = Math.max(prev.size, s.size);
      const dy = s.y - prev.y;
      if (Math.abs(dy) <= 0.6 * size && s.x0 >= prev.x1 - 0.5 * size) text += " ";
      else if (dy > 1.8 * size) text += "\n\n";
      else text += "\n";
    }
    text += s.text;
    prev = s;
  }
  return text;
}

const LIGATURES: Readonly<Record<string, string>> = {
  "\uFB00": "ff",
  "\uFB01": "fi",
  "\uFB02": "fl",
  "\uFB03": "ffi",
  "\uFB04": "ffl",
  "\uFB05": "st",
  "\uFB06": "st",
};

/** Spacing accents that TeX fonts draw as separate glyphs before the letter ("na¨ıve"), as combining marks. */
const SPACING_ACCENTS: Readonly<Record<string, string>> = {
  "\u00A8": "\u0308",
  "\u00B4": "\u0301",
  "\u02C6": "\u0302",
  "\u02DC": "\u0303",
  "\u02C7": "\u030C",
  "\u02DA": "\u030A",
};

/** "na¨ıve" → "naïve", "´e" → "é", only where the pair composes into one character. */
function composeAccents(text: string): string {
  return text.replace(
    /([\u00A8\u00B4\u02C6\u02DC\u02C7\u02DA])([\p{L}])/gu,
    (whole, accent: string, letter: string) => {
      const base = letter === "\u0131" ? "i" : letter === "\u0237" ? "j" : letter;
      const composed = `${base}${SPACING_ACCENTS[accent] ?? ""}`.normalize("NFC");
      return [...composed].length === 1 ? composed : whole;
    },
  );
}

/** Tidies a page: ligatures expanded, split accents composed, runs of spaces collapsed, lines trimmed, NFC. */
function tidy(text: string): string {
  return composeAccents(text)
    .replace(/[\uFB00-\uFB06]/g, (c) => LIGATURES[c] ?? c)
    .replace(/[^\S\n]+/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .join("\n")
    .replace(/\n{3,}/g, "\n\n")
    .trim()
    .normalize("NFC");
}

/**
 * Joins words hyphenated across line breaks ("imple-\nmentation" → "implementation"). A compound that the document
 * also spells with a hyphen elsewhere on one line ("run-time") keeps its hyphen. Soft hyphens are always joined.
 */
function dehyphenate(pages: string[]): string[] {
  const compounds = new Set<string>();
  for (const page of pages) for (const m of page.matchAll(/\p{L}+-\p{L}+/gu)) compounds.add(m[0].toLowerCase());
  return pages.map((page) =>
    page
      .replace(/(\p{L})\u00AD\n(?=\p{L})/gu, "$1")
      .replace(/(\p{L}+)-\n(\p{Ll}[\p{L}]*)/gu, (_m, head: string, tail: string) =>
        compounds.has(`${head}-${tail}`.toLowerCase()) ? `${head}-${tail}` : `${head}${tail}`,
      ),
  );
}

function isPdfItem(item: unknown): item is RawItem {
  return (
    typeof item === "object" &&
    item !== null &&
    typeof (item as { str?: unknown }).str === "string" &&
    Array.isArray((item as { transform?: unknown }).transform)
  );
}

/** The largest-type line near the top of page 1, when it is clearly bigger than body text (a paper's title). */
function titleFromLayout(segs: readonly Segment[]): string {
  if (segs.length === 0) return "";
  const sizes = segs.map((s) => s.size);
  const max = Math.max(...sizes);
  if (max < median(sizes) * 1.15) return "";
  const parts: string[] = [];
  let started = false;
  for (const s of segs) {
    if (s.size >= max * 0.95) {
      parts.push(s.text.trim());
      started = true;
    } else if (started) break;
  }
  const title = parts.join(" ").replace(/\s+/g, " ").trim();
  return title.length <= 300 ? title : "";
}

function titleFromInfo(info: Record<string, unknown>): string {
  const raw = info["Title"];
  if (typeof raw !== "string") return "";
  const title = raw.replace(/\s+/g, " ").trim();
  if (
    title === "" ||
    /^untitled$/i.test(title) ||
    /\.(dvi|docx?|tex|pdf|ps|indd|pages|odt|rtf)$/i.test(title) ||
    /^Microsoft Word - /i.test(title)
  )
    return "";
  return title;
}

function errorName(err: unknown): string {
  return typeof err === "object" && err !== null && typeof (err as { name?: unknown }).name === "string"
    ? (err as { name: string }).name
    : "";
}

function errorMessage(err: unknown): string {
  return err instanceof Error ||
    (typeof err === "object" && err !== null && typeof (err as { message?: unknown }).message === "string")
    ? (err as { message: string }).message
    : String(err);
}

async function openPdf(bytes: Uint8Array, source: string): Promise<PdfDocument> {
  try {
    // pdf.js loads with the first PDF, not with the pipeline. It may transfer (detach) the buffer it
    // is given: hand it a copy so the caller's bytes stay usable.
    const { getDocumentProxy } = await import("unpdf");
    return await getDocumentProxy(new Uint8Array(bytes), { ...SAFE_PDFJS_OPTIONS, stopAtErrors: false });
  } catch (err) {
    const name = errorName(err);
    if (name === "PasswordException") {
      throw new SluiceError("PDF_ENCRYPTED", `${source}: PDF is encrypted (password required)`, {
        details: { source },
        cause: err,
      });
    }
    const reason = name === "InvalidPDFException" ? "not a valid PDF" : "PDF is corrupt";
    throw new SluiceError("PDF_CORRUPT", `${source}: ${reason} (${errorMessage(err)})`, {
      details: { source, pdfjsError: name || undefined },
      cause: err,
    });
  }
}

/**
 * Extracts the text layer of a PDF page by page with pdf.js (through unpdf), offline and quietly (no network, no
 * font fetching, warnings suppressed). Reading order is rebuilt from positions: two- and three-column layouts are
 * read column by column between full-width elements; words hyphenated across lines are joined. A page without a text
 * layer (a scan) yields empty text; OCR is a later concern. The title comes from the document info, else the
 * largest type on page 1, else the file name.
 *
 * @param bytes the PDF file's bytes (not modified)
 * @param source file name or path named in errors and used for the fallback title
 * @throws SluiceError `PDF_ENCRYPTED` when a password is required; `PDF_CORRUPT` for truncated, damaged or
 *   non-PDF bytes
 *
 * @example
 * const { title, pages } = await pdfToPages(await readFile("papers/tracemonkey.pdf"), "papers/tracemonkey.pdf");
 * pages[0]; // { number: 1, text: "Trace-based Just-in-Time Type Specialization for Dynamic\nLanguages\n..." }
 */
export async function pdfToPages(
  bytes: Uint8Array,
  source: string,
): Promise<{ title: string; pages: Array<{ number: number; text: string }> }> {
  const pdf = await openPdf(bytes, source);
  try {
    const texts: string[] = [];
    let layoutTitle = "";
    for (let number = 1; number <= pdf.numPages; number++) {
      let segments: Segment[];
      try {
        const page = await pdf.getPage(number);
        const viewport = page.getViewport({ scale: 1 }).transform as Matrix;
        const content = await page.getTextContent({ includeMarkedContent: false, disableNormalization: false });
        const items: RawItem[] = [];
        for (const item of content.items as unknown[]) if (isPdfItem(item)) items.push(item);
        segments = buildSegments(items, viewport);
        page.cleanup();
      } catch (err) {
        if (errorName(err) === "PasswordException")
          throw new SluiceError("PDF_ENCRYPTED", `${source}: PDF is encrypted (password required)`, {
            details: { source },
            cause: err,
          });
        throw new SluiceError("PDF_CORRUPT", `${source}: page ${number} could not be read (${errorMessage(err)})`, {
          details: { source, page: number },
          cause: err,
        });
      }
      if (number === 1) layoutTitle = titleFromLayout(segments);
      texts.push(tidy(joinSegments(orderRegion(segments, 0))));
    }
    let infoTitle = "";
    try {
      const { getMeta } = await import("unpdf");
      infoTitle = titleFromInfo((await getMeta(pdf)).info);
    } catch {
      // Metadata is optional; a broken Info dictionary does not make the text unusable.
    }
    const title = infoTitle || layoutTitle || basename(source, extname(source));
    return { title, pages: dehyphenate(texts).map((text, i) => ({ number: i + 1, text })) };
  } finally {
    await pdf.destroy();
  }
}
