/**
 * Thai OCR accuracy of parse.auto on lsh132.pdf, whose text layer is broken (Thai TIS-620 bytes
 * read as Latin-1: ฉบับ extracts as ©ºÑº). Each chosen page goes through the code path parse.auto
 * uses (`ocrPdfPages` with the model plane's OCR, `tha+eng`); its character error rate (CER,
 * `charErrorRate`) is measured against the book's LaTeX source (`lsh132.zip`, TIS-620), and so is
 * the CER of the broken text layer of the same pages, to show the gain. Prints readable lines, then
 * one JSON object.
 *
 *   npm run bench:thai-ocr                      # 6 body-text pages
 *   npm run bench:thai-ocr -- --pages 2         # the first 2 of them
 *   npm run bench:thai-ocr -- --pages 13,14,27  # these pages
 *
 * Ground truth: every `.ttx` file of the zip, decoded (0xA1-0xFB → U+0E01-U+0E5B), comments,
 * environments, labels, index entries, citations, `\selectlanguage` arguments and English section
 * titles (not printed) removed, `\LaTeX`/`\TeX` written as printed (LATEX, TEX), `\verb|x|` as x
 * and `\ci{x}` as \x (backslashes and braces kept), lshort.sty's `\companion`, `\manual` and
 * `\guide` as their titles, other command names and braces dropped. A page's reference is the
 * window of that text that matches its OCR best: located by 12-character anchors taken from the
 * OCR text, then the start and length tuned for the lowest CER; the window's footnotes go after
 * its body text, where the page prints them. Quotes
 * (`` '' " “ ” ‘ ’) are left out on both sides, as TeX and OCR write them differently; running
 * heads and page numbers are on the page but not in the source, so they count as errors.
 * Target: CER ≤ 5% on body-text pages. `BENCH_DEBUG=1` prints each page's OCR text and its reference window.
 */
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";
import { parseConfig } from "../src/config/load-config.ts";
import { createModelPlane } from "../src/models/create-model-plane.ts";
import { parseBytes } from "../src/stages/parse/formats/index.ts";
import { ocrPdfPages, type PageOcrReport } from "../src/stages/parse/ocr-pdf-pages.ts";
import { charErrorRate, normalizeForCer } from "../src/text/char-error-rate.ts";

const FIXTURES = fileURLToPath(new URL("../../shared/fixtures/thai/", import.meta.url));
/** Pages of running Thai prose (chapters 1 and 2), not tables, code listings or the index. */
const BODY_PAGES = [13, 14, 15, 16, 23, 27, 17, 19, 25, 28];
const TARGET_CER = 0.05;
const QUOTES = /[`'"“”‘’]/g;

function choosePages(argv: readonly string[]): number[] {
  const i = argv.indexOf("--pages");
  const arg = i >= 0 ? argv[i + 1] : undefined;
  if (arg === undefined) return BODY_PAGES.slice(0, 6);
  if (/^\d+$/.test(arg)) return BODY_PAGES.slice(0, Math.max(1, Number(arg)));
  const pages = arg.split(",").map(Number);
  if (pages.some((p) => !Number.isInteger(p) || p < 1)) throw new Error(`--pages: a count or page numbers, got ${arg}`);
  return pages;
}

/** The entries of a zip (stored or deflated), by name. */
function unzip(zip: Buffer): Map<string, Buffer> {
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  if (eocd < 0) throw new Error("not a zip: no end of central directory");
  const count = zip.readUInt16LE(eocd + 10);
  let at = zip.readUInt32LE(eocd + 16);
  const files = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(at) !== 0x02014b50) throw new Error("zip: bad central directory entry");
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const name = zip.toString("utf8", at + 46, at + 46 + nameLength);
    const local = zip.readUInt32LE(at + 42);
    const data = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const raw = zip.subarray(data, data + size);
    if (method === 0) files.set(name, raw);
    else if (method === 8) files.set(name, inflateRawSync(raw));
    else throw new Error(`zip: ${name} uses compression method ${method}`);
    at += 46 + skip;
  }
  return files;
}

/** TIS-620: ASCII as is, 0xA1-0xFB → U+0E01-U+0E5B, other bytes dropped. */
function decodeTis620(bytes: Buffer): string {
  let out = "";
  for (const b of bytes) {
    if (b < 0x80) out += String.fromCharCode(b);
    else if (b >= 0xa1 && b <= 0xfb) out += String.fromCharCode(b - 0xa0 + 0x0e00);
  }
  return out;
}

/** Around a footnote's text: TeX prints it at the foot of its page, not where the source has it. */
const FOOTNOTE_OPEN = "\uE000";
const FOOTNOTE_CLOSE = "\uE001";
/** Characters that are printed as they are (in `\verb`, `\ci`) move here while commands are stripped. */
const PRINTED_OFFSET = 0xe100;
const printed = (text: string) =>
  text.replace(/[\\{}~$&%]/g, (c) => String.fromCharCode(PRINTED_OFFSET + c.charCodeAt(0)));
const unprinted = (text: string) =>
  text.replace(/[\uE100-\uE17F]/g, (c) => String.fromCharCode(c.charCodeAt(0) - PRINTED_OFFSET));

/** The index just after the `}` that closes the group opening at `open`. */
function groupEnd(tex: string, open: number): number {
  let depth = 0;
  for (let i = open; i < tex.length; i++) {
    if (tex[i] === "\\") i++;
    else if (tex[i] === "{") depth++;
    else if (tex[i] === "}" && --depth === 0) return i + 1;
  }
  return tex.length;
}

/** `\footnote{text}` → text between FOOTNOTE_OPEN and FOOTNOTE_CLOSE. */
function markFootnotes(tex: string): string {
  let out = "";
  let at = 0;
  for (let i = tex.indexOf("\\footnote{"); i >= 0; i = tex.indexOf("\\footnote{", at)) {
    const end = groupEnd(tex, i + "\\footnote".length);
    out += tex.slice(at, i) + FOOTNOTE_OPEN + tex.slice(i + "\\footnote{".length, end - 1) + FOOTNOTE_CLOSE;
    at = end;
  }
  return out + tex.slice(at);
}

function stripLatex(tex: string): string {
  const stripped = markFootnotes(tex)
    // \verb|x| and \verb*|x| print x in typewriter type, without the delimiters; \ci{x} prints \x (\bs is a backslash).
    .replace(/\\verb\*?([^a-zA-Z\s*])(.*?)\1/g, (_, _delimiter: string, text: string) => printed(text))
    .replace(/\\ci\{([^{}]*)\}/g, (_, name: string) => printed(`\\${name.replace(/\\bs\b/g, "\\")}`))
    .replace(/(?<!\\)%.*$/gm, "")
    .replace(/\\(begin|end)\{[^}]*\}(\[[^\]]*\])?(\{[^}]*\})?/g, " ")
    .replace(
      /\\(label|ref|pageref|index|cite|engsection|bibitem|include|input|selectlanguage)\*?\{[^{}]*(\{[^{}]*\}[^{}]*)*\}/g,
      " ",
    )
    // lshort.sty's book titles (their \cite numbers are left out, like every citation's).
    .replace(/\\companion\b/g, "The LATEX Companion")
    .replace(/\\manual\b/g, "LATEX Manual")
    .replace(/\\guide\b/g, "Local Guide")
    .replace(/\\LaTeXe(\{\})?/g, "LATEX 2ε")
    .replace(/\\LaTeX(\{\})?/g, "LATEX")
    .replace(/\\TeX(\{\})?/g, "TEX")
    .replace(/\\[a-zA-Z@]+\*?/g, " ")
    .replace(/\\./g, " ")
    .replace(/[{}~$&]/g, " ");
  return unprinted(stripped);
}

/**
 * The source (normalised) as characters, footnote marks taken out; `footnote[i]` tells whether
 * character i is footnote text.
 */
function splitFootnotes(marked: readonly string[]): { chars: string[]; footnote: boolean[] } {
  const chars: string[] = [];
  const footnote: boolean[] = [];
  let inside = false;
  for (const ch of marked) {
    if (ch === FOOTNOTE_OPEN) inside = true;
    else if (ch === FOOTNOTE_CLOSE) inside = false;
    else {
      chars.push(ch);
      footnote.push(inside);
    }
  }
  return { chars, footnote };
}

/** The printed order of a window of the source: its body text, then its footnotes (at the foot of the page). */
function referenceOf(source: { chars: string[]; footnote: boolean[] }, start: number, length: number): string {
  const from = Math.max(0, start);
  let body = "";
  let notes = "";
  for (let i = from; i < Math.min(source.chars.length, from + length); i++)
    if (source.footnote[i]) notes += source.chars[i];
    else body += source.chars[i];
  return body + notes;
}

/** The reference window of `source` (normalised) that `hyp` (normalised) matches best. */
function bestWindow(
  source: { chars: string[]; footnote: boolean[] },
  hyp: string[],
): { start: number; length: number } | undefined {
  const text = source.chars.join("");
  const starts: number[] = [];
  for (let f = 0.05; f < 1; f += 0.1) {
    const at = Math.floor(hyp.length * f);
    const anchor = hyp.slice(at, at + 12).join("");
    if (anchor.length < 12) continue;
    const found = text.indexOf(anchor);
    if (found >= 0 && text.indexOf(anchor, found + 1) < 0) starts.push(Array.from(text.slice(0, found)).length - at);
  }
  if (starts.length === 0) return undefined;
  starts.sort((a, b) => a - b);
  const centre = starts[Math.floor(starts.length / 2)]!;
  let best = { start: Math.max(0, centre), length: hyp.length, cer: Infinity };
  const cer = (start: number, length: number) => charErrorRate(referenceOf(source, start, length), hyp.join(""));
  for (const shift of [-160, -80, -40, -20, 0, 20, 40, 80, 160])
    for (const scale of [0.85, 0.92, 1, 1.08]) {
      const length = Math.round(hyp.length * scale);
      const c = cer(centre + shift, length);
      if (c < best.cer) best = { start: Math.max(0, centre + shift), length, cer: c };
    }
  for (let step = 8; step >= 1; step = Math.floor(step / 2))
    for (const [ds, dl] of [
      [-step, 0],
      [step, 0],
      [0, -step],
      [0, step],
    ] as const) {
      const c = cer(best.start + ds, best.length + dl);
      if (c < best.cer) best = { start: Math.max(0, best.start + ds), length: best.length + dl, cer: c };
    }
  return best;
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

async function main(): Promise<void> {
  const chosen = choosePages(process.argv.slice(2));
  const pdf = new Uint8Array(readFileSync(`${FIXTURES}lsh132.pdf`));
  const zip = unzip(readFileSync(`${FIXTURES}lsh132.zip`));
  const tex = [...zip].filter(([name]) => name.endsWith(".ttx")).map(([, bytes]) => stripLatex(decodeTis620(bytes)));
  const source = splitFootnotes(Array.from(normalizeForCer(tex.join("\n").replace(QUOTES, ""))));

  const parsed = await parseBytes({
    ref: { id: "lsh132.pdf", source: "lsh132.pdf", kind: "file", meta: {} },
    mediaType: "application/pdf",
    bytes: pdf,
  });
  const pages = (parsed.pages ?? []).filter((p) => chosen.includes(p.number));
  const config = parseConfig({});
  const models = await createModelPlane(config);
  const reports = new Map<number, PageOcrReport>();
  const started = performance.now();
  let read;
  try {
    await models.ocr().warmUp();
    const warm = performance.now();
    read = await ocrPdfPages(pdf, pages, models.ocr(), { params: { languages: "tha+eng" } }, (r) =>
      reports.set(r.number, r),
    );
    console.log(`OCR warm-up ${((warm - started) / 1000).toFixed(1)} s (${models.mode}, ${models.ocr().id})`);
  } finally {
    await models.close();
  }
  const ocrSeconds = [...reports.values()].reduce((s, r) => s + r.ms, 0) / 1000;

  const rows = read.map((page) => {
    const report = reports.get(page.number);
    const hyp = Array.from(normalizeForCer(page.text.replace(QUOTES, "")));
    const window = bestWindow(source, hyp);
    const reference = window ? referenceOf(source, window.start, window.length) : "";
    const layer = (report?.textLayer ?? "").replace(QUOTES, "");
    if (process.env["BENCH_DEBUG"]) console.log(`--- page ${page.number}\nOCR: ${page.text}\nREF: ${reference}`);
    return {
      page: page.number,
      verdict: report?.verdict ?? "ok",
      method: page.method,
      confidence: page.confidence === undefined ? null : Math.round(page.confidence * 10) / 10,
      chars: hyp.length,
      aligned: window !== undefined,
      cer: window ? charErrorRate(reference, page.text.replace(QUOTES, "")) : null,
      layerCer: window ? charErrorRate(reference, layer) : null,
      seconds: report ? Math.round(report.ms / 100) / 10 : 0,
    };
  });
  for (const r of rows)
    console.log(
      `page ${String(r.page).padStart(2)}  ${r.verdict.padEnd(7)} ${r.method.padEnd(10)} ` +
        `CER ${r.cer === null ? "n/a (not located in the source)" : pct(r.cer).padStart(6)}  ` +
        `text-layer CER ${r.layerCer === null ? "n/a" : pct(r.layerCer).padStart(6)}  ` +
        `conf ${r.confidence ?? "-"}  ${r.chars} chars  ${r.seconds} s`,
    );
  const measured = rows.filter((r) => r.cer !== null);
  const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
  const meanCer = mean(measured.map((r) => r.cer!));
  const meanLayerCer = mean(measured.map((r) => r.layerCer!));
  const pagesPerSecond = ocrSeconds > 0 ? reports.size / ocrSeconds : null;
  console.log(
    `mean CER ${meanCer === null ? "n/a" : pct(meanCer)} over ${measured.length} pages ` +
      `(text layer ${meanLayerCer === null ? "n/a" : pct(meanLayerCer)}); ` +
      `${pagesPerSecond === null ? "n/a" : pagesPerSecond.toFixed(3)} pages/s; ` +
      `pages within ${pct(TARGET_CER)}: ${measured.filter((r) => r.cer! <= TARGET_CER).length}/${measured.length}`,
  );
  console.log(
    JSON.stringify({
      bench: "thai-ocr",
      languages: "tha+eng",
      engine: config.models.mode,
      pages: rows,
      meanCer,
      maxCer: measured.length ? Math.max(...measured.map((r) => r.cer!)) : null,
      meanLayerCer,
      pagesPerSecond,
      targetCer: TARGET_CER,
      withinTarget: measured.filter((r) => r.cer! <= TARGET_CER).length,
    }),
  );
}

await main();
