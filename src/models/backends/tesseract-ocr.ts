import { randomUUID } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { lstat, mkdir, readlink, rename, symlink } from "node:fs/promises";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { EventEmitter } from "node:events";
import type Tesseract from "tesseract.js";
import { SluiceError } from "../../contracts/errors.ts";
import { ModelCallQueue } from "../batched-model-calls.ts";
import type { ModelCallOptions, OcrEngine, OcrInput, OcrResult, OcrWord } from "../ports.ts";
import { renderPdfPage } from "./pdf-page-image.ts";

export interface TesseractOcrOptions {
  /** Tesseract codes joined by `+`. Default `eng+tha`. */
  languages?: string;
  /** Where the language folder (links to the installed models) is made. Default `$TMPDIR/sluice-tessdata-<uid>`. */
  cacheDir?: string;
  /** Words below this confidence (0-100) are left out of `text`. Default 0. */
  minConfidence?: number;
}

const require = createRequire(import.meta.url);
/** The packages' integer-quantised tessdata_best LSTM models. */
const MODEL_DIR = "4.0.0_best_int";
const LSTM_ONLY = 1 as Tesseract.OEM;
const DEFAULT_LANGUAGES = "eng+tha";
const LANGUAGE_SET = /^[a-z_]{3,}(\+[a-z_]{3,})*$/;
/**
 * Scripts written without spaces between words. Tesseract takes its word spacing from the first
 * language: read as `eng+tha`, Thai came back with a space after every letter cluster, as
 * `tha+eng` it came back as written, English unchanged (measured). So these go first.
 */
const UNSPACED_SCRIPTS = new Set(["tha", "lao", "khm", "mya"]);
/**
 * Tesseract settings for a worker whose language set holds one of these codes. Thai stacks a tone
 * mark over an upper vowel (ที่, นี้, สั่ง), high above the letters; with tesseract's default
 * minimum line size (1.25 x-heights) its line finder made a "line" of those marks, and the real
 * line came back without them (ที, นี, สัง). At 2.5 it keeps them: on lsh132.pdf (bench:thai-ocr,
 * 300 dpi) dropped tone marks went from 163 to 13 over 6 pages and the mean CER from 13.5% to
 * 10.9%. Not set for other sets: on a page of an English two-column paper with small figure
 * text (tracemonkey-pldi-09.pdf p. 4, `eng`) word recall fell from 86% to 63%.
 */
const SCRIPT_PARAMS: Readonly<Record<string, Readonly<Partial<Tesseract.WorkerParams>>>> = {
  tha: { textord_min_linesize: "2.5" },
};
/** Tesseract writes SARA AM (U+0E33) as NIKHAHIT + SARA AA, tone mark (if any) in between. */
const SPLIT_SARA_AM = /\u0E4D([\u0E48-\u0E4B]?)\u0E32/g;

/** One worker per language set; tesseract.js runs one job at a time per worker, so calls queue. */
interface WorkerSlot {
  readonly codes: readonly string[];
  readonly calls: ModelCallQueue;
  worker: Promise<Tesseract.Worker> | undefined;
}

/**
 * OCR in-process with tesseract.js 7 (tesseract compiled to wasm, in a worker thread) and the
 * `@tesseract.js-data/<code>` models, offline. tesseract.js is imported on first use (`warmUp()` or
 * `recognize()`), so a process that never reads an image never loads it. Each language set gets
 * its own worker, made on first use and kept; calls to one worker run one at a time.
 *
 * Per call, `params.languages` replaces the configured languages and `params.minConfidence`
 * leaves words below it out of `text` (`words` and `confidence` still describe every word read).
 * Scripts without spaces between words (Thai) are moved to the front of the set, because tesseract
 * spaces words the way the first language does; `languages` in the result is the order used.
 * A PDF page is rendered to a PNG first ({@link renderPdfPage}). An abort while tesseract is
 * reading terminates that worker (a recognize cannot be cancelled) and the next call makes a new one.
 *
 * @example
 * const ocr = new TesseractOcr({ languages: "eng+tha" });
 * const { text, confidence } = await ocr.recognize({ data: await readFile("scan.png"), mediaType: "image/png" });
 * await ocr.close();
 */
export class TesseractOcr implements OcrEngine {
  readonly id = "tesseract.js@7-best_int";
  private readonly options: TesseractOcrOptions;
  private readonly slots = new Map<string, WorkerSlot>();

  constructor(options: TesseractOcrOptions = {}) {
    this.options = options;
  }

  async warmUp(): Promise<void> {
    const slot = this.slot(resolveLanguages(this.options.languages ?? DEFAULT_LANGUAGES));
    await slot.calls.run(() => this.workerFor(slot));
  }

  async recognize(input: OcrInput, options: ModelCallOptions = {}): Promise<OcrResult> {
    const { signal } = options;
    signal?.throwIfAborted();
    const codes = resolveLanguages(options.params?.languages ?? this.options.languages ?? DEFAULT_LANGUAGES);
    const minConfidence = checkMinConfidence(options.params?.minConfidence ?? this.options.minConfidence ?? 0);
    const image = await imageOf(input);
    const slot = this.slot(codes);
    const page = await slot.calls.run(async () => {
      signal?.throwIfAborted(); // it may have been aborted while queued
      const worker = await this.workerFor(slot);
      signal?.throwIfAborted();
      return readPage(worker, image, signal, () => {
        slot.worker = undefined;
        void worker.terminate().catch(() => undefined);
      });
    });
    return toResult(page, codes.join("+"), minConfidence);
  }

  async close(): Promise<void> {
    const slots = [...this.slots.values()];
    this.slots.clear();
    await Promise.all(
      slots.map(async (slot) => {
        await slot.calls.idle();
        const worker = await slot.worker?.catch(() => undefined);
        slot.worker = undefined;
        await worker?.terminate();
      }),
    );
  }

  private slot(codes: readonly string[]): WorkerSlot {
    const key = codes.join("+");
    let slot = this.slots.get(key);
    if (slot === undefined) {
      slot = { codes, calls: new ModelCallQueue(), worker: undefined };
      this.slots.set(key, slot);
    }
    return slot;
  }

  private workerFor(slot: WorkerSlot): Promise<Tesseract.Worker> {
    slot.worker ??= startWorker(slot.codes, this.options.cacheDir ?? defaultCacheDir()).catch((err: unknown) => {
      slot.worker = undefined; // let a later call try again
      throw new SluiceError(
        "MODEL_UNAVAILABLE",
        `could not start tesseract for ${slot.codes.join("+")}: ${messageOf(err)}`,
        { cause: err },
      );
    });
    return slot.worker;
  }
}

function defaultCacheDir(): string {
  return join(tmpdir(), `sluice-tessdata-${process.getuid?.() ?? "user"}`);
}

/** Checks a `+`-joined language set against the installed models; returns its codes, unspaced scripts first. */
function resolveLanguages(languages: string): string[] {
  if (!LANGUAGE_SET.test(languages)) {
    throw new SluiceError(
      "VALIDATION_FAILED",
      `OCR languages "${languages}" are not tesseract codes joined by + (e.g. eng+tha)`,
      { details: { languages } },
    );
  }
  const codes = [...new Set(languages.split("+"))];
  for (const code of codes) {
    if (modelFile(code) === undefined) {
      const known = installedLanguages();
      throw new SluiceError(
        "VALIDATION_FAILED",
        `OCR language "${code}" is not installed (no @tesseract.js-data/${code} package); installed: ${known.join(", ") || "none"}`,
        {
          details: { language: code, installed: known },
        },
      );
    }
  }
  return [...codes.filter((c) => UNSPACED_SCRIPTS.has(c)), ...codes.filter((c) => !UNSPACED_SCRIPTS.has(c))];
}

function modelFile(code: string): string | undefined {
  try {
    const file = join(
      dirname(require.resolve(`@tesseract.js-data/${code}/package.json`)),
      MODEL_DIR,
      `${code}.traineddata.gz`,
    );
    return existsSync(file) ? file : undefined;
  } catch {
    return undefined; // no such package
  }
}

function installedLanguages(): string[] {
  const found = new Set<string>();
  for (const dir of require.resolve.paths("@tesseract.js-data/eng") ?? []) {
    let names: string[];
    try {
      names = readdirSync(join(dir, "@tesseract.js-data"));
    } catch {
      continue; // this node_modules has no models
    }
    for (const name of names) if (modelFile(name) !== undefined) found.add(name);
  }
  return [...found].sort();
}

function checkMinConfidence(value: number): number {
  if (!(value >= 0 && value <= 100))
    throw new SluiceError("VALIDATION_FAILED", `OCR minConfidence must be between 0 and 100, got ${value}`);
  return value;
}

/**
 * tesseract.js wants one folder holding `<code>.traineddata.gz` for every language it loads, so
 * this links the installed models into `cacheDir` (never into node_modules, which may be
 * read-only). A link is swapped in by rename, so concurrent processes never see a half-made one.
 */
async function prepareLangPath(cacheDir: string, codes: readonly string[]): Promise<string> {
  await mkdir(cacheDir, { recursive: true, mode: 0o700 });
  const stat = await lstat(cacheDir);
  // The default sits in the shared temp folder: refuse one another user made, or could swap models in.
  const uid = process.getuid?.();
  if (!stat.isDirectory() || (uid !== undefined && stat.uid !== uid) || (stat.mode & 0o002) !== 0) {
    throw new Error(`${cacheDir} is not a folder owned by this user and closed to others' writes`);
  }
  for (const code of codes) {
    const target = modelFile(code)!;
    const link = join(cacheDir, `${code}.traineddata.gz`);
    if (
      await readlink(link).then(
        (current) => current === target,
        () => false,
      )
    )
      continue;
    const temporary = `${link}.${randomUUID()}.tmp`;
    await symlink(target, temporary);
    await rename(temporary, link);
  }
  return cacheDir;
}

async function startWorker(codes: readonly string[], cacheDir: string): Promise<Tesseract.Worker> {
  const langPath = await prepareLangPath(cacheDir, codes);
  const { createWorker } = (await import("tesseract.js")).default;
  // Without an errorHandler, tesseract.js rethrows a failed job inside its message listener, which
  // would crash the process; the job's own promise still rejects. A failed model load settles no
  // promise at all, so that error is what ends the wait below.
  let failStart: (reason: unknown) => void = () => undefined;
  const startFailed = new Promise<never>((_, reject) => (failStart = reject));
  startFailed.catch(() => undefined);
  const errorHandler = (data: unknown): void => failStart(new Error(String(data)));
  const worker = await Promise.race([
    createWorker([...codes], LSTM_ONLY, { langPath, gzip: true, cacheMethod: "none", errorHandler }),
    startFailed,
  ]);
  const params = Object.assign({}, ...codes.map((code) => SCRIPT_PARAMS[code])) as Partial<Tesseract.WorkerParams>;
  if (Object.keys(params).length > 0) {
    try {
      await Promise.race([worker.setParameters(params), startFailed]);
    } catch (err) {
      await worker.terminate().catch(() => undefined);
      throw err;
    }
  }
  return worker;
}

/** Runs one recognize, rejecting on abort (after `onAbort`) or if the worker thread dies. */
function readPage(
  worker: Tesseract.Worker,
  image: Buffer,
  signal: AbortSignal | undefined,
  onAbort: () => void,
): Promise<Tesseract.Page> {
  // tesseract.js keeps its worker_threads Worker on `worker`; a job on a thread that exits never settles.
  const thread = (worker as unknown as { worker?: EventEmitter | null }).worker ?? undefined;
  return new Promise((resolve, reject) => {
    const done = (): void => {
      signal?.removeEventListener("abort", aborted);
      thread?.off("exit", exited);
    };
    const aborted = (): void => {
      done();
      onAbort();
      reject(signal?.reason as Error); // whatever the caller aborted with: an AbortError DOMException by default
    };
    const exited = (code: number): void => {
      done();
      onAbort();
      reject(new SluiceError("MODEL_UNAVAILABLE", `the tesseract worker exited (code ${code}) while reading`));
    };
    signal?.addEventListener("abort", aborted, { once: true });
    thread?.once("exit", exited);
    worker.recognize(image, {}, { text: true, blocks: true }).then(
      (result) => (done(), resolve(result.data)),
      (err: unknown) => {
        done();
        // tesseract rejects with a bare string; an image it cannot decode is the caller's problem.
        const message = messageOf(err);
        if (/image/i.test(message))
          reject(new SluiceError("VALIDATION_FAILED", `OCR input could not be decoded: ${message}`, { cause: err }));
        else reject(new SluiceError("MODEL_BAD_RESPONSE", `tesseract failed: ${message}`, { cause: err }));
      },
    );
  });
}

const MEDIA_TYPES: ReadonlyArray<OcrInput["mediaType"]> = ["image/png", "image/jpeg", "application/pdf"];

/** What the bytes are, by their magic number. */
function sniff(data: Uint8Array): OcrInput["mediaType"] | undefined {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => data[i] === b);
  if (starts(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return "image/png";
  if (starts(0xff, 0xd8, 0xff)) return "image/jpeg";
  // Readers accept the %PDF- header anywhere in the first 1024 bytes, so the check does too.
  if (Buffer.from(data.buffer, data.byteOffset, Math.min(data.byteLength, 1024)).includes("%PDF-"))
    return "application/pdf";
  return undefined;
}

/** Checks the input and returns the image tesseract reads: the bytes themselves, or the rendered PDF page. */
async function imageOf(input: OcrInput): Promise<Buffer> {
  const { data, mediaType } = input;
  if (!MEDIA_TYPES.includes(mediaType)) {
    throw new SluiceError(
      "VALIDATION_FAILED",
      `OCR mediaType "${String(mediaType)}" is not supported; use one of ${MEDIA_TYPES.join(", ")}`,
    );
  }
  if (!(data instanceof Uint8Array) || data.byteLength === 0)
    throw new SluiceError("VALIDATION_FAILED", "OCR input is empty");
  const actual = sniff(data);
  if (actual === undefined) {
    const head = Buffer.from(data.subarray(0, 8)).toString("hex");
    throw new SluiceError(
      "VALIDATION_FAILED",
      `OCR input declared ${mediaType} is not a PNG, JPEG or PDF (it starts with 0x${head})`,
      { details: { mediaType } },
    );
  }
  if (actual !== mediaType) {
    throw new SluiceError("VALIDATION_FAILED", `OCR input is declared ${mediaType} but its bytes are ${actual}`, {
      details: { mediaType, detected: actual },
    });
  }
  if (mediaType === "application/pdf") return Buffer.from((await renderPdfPage(data, input.page ?? 1)).png);
  // tesseract.js copies the bytes before posting them to its worker, so the caller's stay untouched.
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function toResult(page: Tesseract.Page, languages: string, minConfidence: number): OcrResult {
  const lines = (page.blocks ?? []).flatMap((block) => block.paragraphs.flatMap((paragraph) => paragraph.lines));
  const kept = lines.filter((line) => !isMarkFragment(line, lines));
  const words: OcrWord[] = [];
  const texts: string[] = [];
  for (const line of kept) {
    for (const word of line.words) {
      if (word.text.trim() === "") continue;
      const { x0, y0, x1, y1 } = word.bbox;
      words.push({
        text: normalizeText(word.text),
        confidence: Math.min(100, Math.max(0, word.confidence)),
        bbox: { x0, y0, x1, y1 },
      });
    }
    const text = lineText(line, minConfidence);
    if (text !== "") texts.push(text);
  }
  const confidence = words.length === 0 ? 0 : words.reduce((sum, w) => sum + w.confidence, 0) / words.length;
  return { text: texts.join("\n").trim(), confidence, words, languages };
}

/**
 * Tesseract sometimes takes the vowels and tone marks above a Thai line for a line of their own
 * (it read "เรร A" over กรุงเทพมหานครเป็นเมือง…). Such a fragment lies inside a taller line's box,
 * which a real line never does (columns come apart horizontally), so it is dropped. On a Thai
 * sample rendered in Garuda this took the CER from 9.7% to 2.7%.
 */
function isMarkFragment(line: Tesseract.Line, lines: readonly Tesseract.Line[]): boolean {
  const { x0, y0, x1, y1 } = line.bbox;
  const overlap = (a0: number, a1: number, b0: number, b1: number): number =>
    Math.max(0, Math.min(a1, b1) - Math.max(a0, b0));
  return lines.some(
    (other) =>
      other !== line &&
      other.bbox.y1 - other.bbox.y0 > y1 - y0 &&
      overlap(y0, y1, other.bbox.y0, other.bbox.y1) >= 0.5 * (y1 - y0) &&
      overlap(x0, x1, other.bbox.x0, other.bbox.x1) >= 0.8 * (x1 - x0),
  );
}

/**
 * A line's text from its words, keeping tesseract's own spacing (a space where it put one,
 * none between Thai clusters) and leaving out words below `minConfidence`.
 */
function lineText(line: Tesseract.Line, minConfidence: number): string {
  let out = "";
  let gap = "";
  let cursor = 0;
  for (const word of line.words) {
    const at = line.text.indexOf(word.text, cursor);
    gap += at < 0 ? " " : line.text.slice(cursor, at);
    if (at >= 0) cursor = at + word.text.length;
    if (word.confidence < minConfidence || word.text.trim() === "") continue;
    if (out !== "" && /\s/.test(gap)) out += " ";
    out += word.text;
    gap = "";
  }
  return normalizeText(out).trim();
}

function normalizeText(text: string): string {
  return text.normalize("NFC").replace(SPLIT_SARA_AM, "$1\u0E33");
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
