/**
 * Throughput of the literature sources and of PDF parsing. Prints readable lines, then one JSON
 * object (the last line of stdout).
 *
 * 1. Records/s and HTTP requests/s of each source adapter (clinicaltrials, openalex, pmc,
 *    unpaywall): `runSourcePages`, what a source run does (its admit and save do nothing here),
 *    pages through the recorded API responses in `../shared/fixtures/sources`, served by the
 *    tests' replay server in a process of its own (`bench/replay-server-process.ts`). The
 *    recordings hold only a few pages per API, so each adapter runs every query the recordings can
 *    answer as it asks (listed in WORKLOADS), over and over for `--seconds`, after one warm-up
 *    pass. A record is a response item parsed into a `SourceRecord`. Rate limits are off (1e6
 *    requests/s per host): the shipped per-host pace would measure the pace, not the code. The
 *    records/s that pace allows is printed beside the measured figure, computed as records per
 *    request × the shipped `perSecond` (not measured).
 * 2. PDF pages/s through the `parse.auto` stage itself (the default config, OCR on): text layer
 *    only on the two-column paper and the long manual (one warm-up run, then repeated for
 *    `--seconds` each); with OCR on the first `--ocr-pages` body pages of the Thai book lsh132.pdf,
 *    whose text layer is broken (`tha+eng`, as bench:thai-ocr reads it), and on `--scan-pages`
 *    pages of the paper rasterised at 300 dpi into an image-only PDF (read with the default
 *    languages, `eng+tha`). OCR is the model plane's in-process tesseract; its warm-up is timed
 *    apart. A part whose fixtures are missing is skipped with a message, its figures null.
 *
 *   npm run bench:sources
 *   npm run bench:sources -- --ocr-pages 2 --scan-pages 1 --seconds 2.5
 *   npm run bench:sources -- --ocr-pages 0 --scan-pages 0   # no OCR
 */
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { PDFDocument } from "pdf-lib";
import { parseConfig } from "../src/config/load-config.ts";
import type { SourcesConfig } from "../src/config/sources-schema.ts";
import type { RawDocument } from "../src/contracts/document.ts";
import { runSourcePages, type SourceSpec } from "../src/engine/source-run.ts";
import { renderPdfPage } from "../src/models/backends/pdf-page-image.ts";
import { createModelPlane } from "../src/models/create-model-plane.ts";
import type { ModelPlane } from "../src/models/model-plane.ts";
import type { OcrEngine } from "../src/models/ports.ts";
import type { StageContext } from "../src/pipeline/define-stage.ts";
import { testServices } from "../src/pipeline/services.fixture.ts";
import { bytesToDocument } from "../src/stages/parse/bytes-to-document.ts";
import { PoliteHttp } from "../src/stages/sources/http/polite-http.ts";
import { createLiteratureSource } from "../src/stages/sources/literature/create-source.ts";
import {
  LITERATURE_SOURCES,
  type LiteratureSource,
  type LiteratureSourceType,
} from "../src/stages/sources/literature/literature-source.ts";
import { replaySkipReason } from "../tests/helpers/replay-server.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2.5" },
    "ocr-pages": { type: "string", default: "2" },
    "scan-pages": { type: "string", default: "1" },
  },
});
const SECONDS = Number(values.seconds);
if (!(SECONDS > 0)) throw new Error(`--seconds: a positive number, got ${values.seconds}`);

const FIXTURES = fileURLToPath(new URL("../../shared/fixtures/", import.meta.url));
const PAPER = `${FIXTURES}pdf/tracemonkey-pldi-09.pdf`;
const MANUAL = `${FIXTURES}pdf/R-FAQ.pdf`;
const LSH132 = `${FIXTURES}thai/lsh132.pdf`;
/** Body-text pages of lsh132.pdf, lowest OCR CER first (bench:thai-ocr); `--ocr-pages N` takes the first N. */
const THAI_PAGES = [14, 23, 15, 16, 27, 17, 19, 25, 28, 13];

function count(option: "ocr-pages" | "scan-pages", max: number): number {
  const n = Number(values[option]);
  if (!Number.isInteger(n) || n < 0 || n > max) throw new Error(`--${option}: 0 to ${max}, got ${values[option]}`);
  return n;
}
const OCR_PAGES = count("ocr-pages", THAI_PAGES.length);
const SCAN_PAGES = count("scan-pages", 14);

const round = (x: number, digits = 1) => Math.round(x * 10 ** digits) / 10 ** digits;

// ---------------------------------------------------------------- sources

/** The recorded OpenAlex cursor pages carry the recorder's stand-in for the API key. */
const OPENALEX_KEY_ENV = "BENCH_OPENALEX_KEY";
const OPENALEX_RECORDED_KEY = "<api-key>";
/** The contact the Unpaywall recordings were made with. */
const UNPAYWALL_EMAIL = "example@papercrow.ai";
const PHELAN = { "query.cond": "Phelan-McDermid Syndrome" };

interface Workload {
  name: string;
  spec: SourceSpec;
  /** Send the OpenAlex key (the cursor pages were recorded with one, the lookups without). */
  openalexKey?: boolean;
}

/**
 * Every query the recordings answer as the adapters ask it. Left out: recordings of requests an
 * adapter never makes as recorded (OpenAlex's title search without `per_page`/`cursor`, PMC's
 * efetch of 8435807 without `rettype`, PMC's esearch, whose ids have no recorded efetch) and error replies.
 */
const WORKLOADS: Record<LiteratureSourceType, Workload[]> = {
  clinicaltrials: [
    { name: "search, 2 pages of 5", spec: { type: "clinicaltrials", params: PHELAN, pageSize: 5, limit: 10 } },
    { name: "search, 1 last page of 3", spec: { type: "clinicaltrials", params: PHELAN, pageSize: 50 } },
    { name: "search, limit 3", spec: { type: "clinicaltrials", params: { "query.intr": '"Keytruda"' }, limit: 3 } },
    { name: "1 full study by id (1.5 MB)", spec: { type: "clinicaltrials", ids: ["NCT02513394"] } },
  ],
  openalex: [
    {
      name: "cursor pages (2 works, empty last)",
      spec: { type: "openalex", params: { filter: "openalex:W3045921891|W3046863325" } },
      openalexKey: true,
    },
    {
      name: "3 works by W id and DOI",
      spec: {
        type: "openalex",
        ids: ["W2741809807", "https://doi.org/10.1073/PNAS.1414271111", "doi:10.1023/a:1007154515475"],
      },
    },
  ],
  pmc: [{ name: "2 JATS full texts by PMCID", spec: { type: "pmc", ids: ["PMC3040717", "PMC6329583"] } }],
  unpaywall: [
    {
      name: "5 DOIs (open and closed)",
      spec: {
        type: "unpaywall",
        ids: [
          "10.1073/pnas.1414271111",
          "10.1016/j.xgen.2025.100814",
          "10.1016/j.addr.2015.01.008",
          "10.1023/a:1007154515475",
          "10.1007/s40278-023-41815-2",
        ],
      },
    },
  ],
};

interface AdapterFigures {
  records_per_s: number;
  requests_per_s: number;
  records: number;
  requests: number;
  seconds: number;
  /** The shipped `perSecond` of the adapter's API. */
  default_per_second: number;
  /** Records/s the shipped pace allows: records per request × `perSecond`, at most the measured rate. */
  paced_records_per_s: number;
  workloads: Record<string, number>;
}

/** Every API at `url`/<host>, as the replay server serves them. */
function sourcesConfig(url: string, openalexKey: boolean): SourcesConfig {
  const at = (host: string) => `${url}/${host}`;
  return parseConfig({
    sources: {
      clinicaltrials: { baseUrl: `${at("clinicaltrials.gov")}/api/v2` },
      openalex: { baseUrl: at("api.openalex.org"), ...(openalexKey ? { apiKeyEnv: OPENALEX_KEY_ENV } : {}) },
      pmc: {
        baseUrl: `${at("eutils.ncbi.nlm.nih.gov")}/entrez/eutils`,
        oaBaseUrl: `${at("www.ncbi.nlm.nih.gov")}/pmc/utils/oa`,
      },
      unpaywall: { baseUrl: `${at("api.unpaywall.org")}/v2`, email: UNPAYWALL_EMAIL },
    },
  }).sources;
}

/** The replay server in a child process; resolves with its URL once it listens. */
async function startReplayProcess(): Promise<{ url: string; stop: () => void }> {
  const script = fileURLToPath(new URL("./replay-server-process.ts", import.meta.url));
  const child = spawn(process.execPath, ["--import", "tsx", script], { stdio: ["ignore", "pipe", "inherit"] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")).trim());
    });
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`the replay server exited (${code}) before it listened`)));
  });
  return { url, stop: () => child.kill("SIGTERM") };
}

async function benchAdapters(): Promise<Record<LiteratureSourceType, AdapterFigures | null>> {
  const figures = Object.fromEntries(LITERATURE_SOURCES.map((t) => [t, null])) as Record<
    LiteratureSourceType,
    AdapterFigures | null
  >;
  const skip = replaySkipReason();
  if (skip) {
    console.log(`sources: skipped: ${skip}`);
    return figures;
  }
  const shipped = parseConfig({}).sources;
  const replay = await startReplayProcess();
  let requests = 0;
  // Built here rather than by createSourceHttp, which paces by host name: every API is 127.0.0.1
  // here, so they would share one bucket at one API's pace.
  const http = new PoliteHttp({
    userAgent: shipped.userAgent,
    defaultLimit: { perSecond: 1e6, burst: 1e6 },
    fetch: (input, init) => {
      requests++;
      return fetch(input, init);
    },
  });
  const env = { [OPENALEX_KEY_ENV]: OPENALEX_RECORDED_KEY };
  console.log(
    `sources: replay server in its own process at ${replay.url}; rate limits OFF (1e6 requests/s per host); ` +
      `shipped pace: ${LITERATURE_SOURCES.map((t) => `${t} ${shipped[t].perSecond}/s`).join(", ")}`,
  );
  try {
    for (const type of LITERATURE_SOURCES) {
      const runs = WORKLOADS[type].map((w) => ({
        ...w,
        source: createLiteratureSource(type, sourcesConfig(replay.url, w.openalexKey ?? false), env),
        records: 0,
        requests: 0,
        ms: 0,
      }));
      const once = async (source: LiteratureSource, spec: SourceSpec) => {
        const [asked, started] = [requests, performance.now()];
        const { fetched } = await runSourcePages({
          source,
          http,
          spec,
          saved: null,
          admit: async () => {},
          save: async () => {},
        });
        return { records: fetched, requests: requests - asked, ms: performance.now() - started };
      };
      for (const run of runs) {
        const warm = await once(run.source, run.spec);
        if (warm.records === 0) throw new Error(`${type}: "${run.name}" read no records from the replay server`);
      }
      const started = performance.now();
      while (performance.now() - started < SECONDS * 1000) {
        for (const run of runs) {
          const r = await once(run.source, run.spec);
          run.records += r.records;
          run.requests += r.requests;
          run.ms += r.ms;
        }
      }
      const records = runs.reduce((s, r) => s + r.records, 0);
      const asked = runs.reduce((s, r) => s + r.requests, 0);
      const seconds = runs.reduce((s, r) => s + r.ms, 0) / 1000;
      const perSecond = shipped[type].perSecond;
      const recordsPerS = records / seconds;
      const f: AdapterFigures = {
        records_per_s: round(recordsPerS),
        requests_per_s: round(asked / seconds),
        records,
        requests: asked,
        seconds: round(seconds, 2),
        default_per_second: perSecond,
        paced_records_per_s: round(Math.min(recordsPerS, (records / asked) * perSecond), 2),
        workloads: Object.fromEntries(runs.map((r) => [r.name, round(r.records / (r.ms / 1000))])),
      };
      figures[type] = f;
      console.log(
        `${type.padEnd(15)} ${String(f.records_per_s).padStart(8)} records/s ${String(f.requests_per_s).padStart(8)} requests/s` +
          `  (${records} records, ${asked} requests in ${f.seconds} s; at the shipped ${perSecond}/s: ${f.paced_records_per_s} records/s)`,
      );
      for (const r of runs)
        console.log(
          `  ${r.name.padEnd(36)} ${String(f.workloads[r.name]).padStart(8)} records/s  ` +
            `(${r.records} records, ${r.requests} requests)`,
        );
    }
  } finally {
    replay.stop();
  }
  return figures;
}

// ---------------------------------------------------------------- PDF

const CTX: StageContext = {
  jobId: "bench",
  docId: "bench",
  collection: "bench",
  signal: new AbortController().signal,
  attempt: 1,
};

/** A fresh copy each run: pdf.js may detach the buffer it is given. */
function raw(name: string, bytes: Uint8Array): RawDocument {
  return {
    ref: { id: name, source: name, kind: "file", meta: {} },
    mediaType: "application/pdf",
    bytes: bytes.slice(),
  };
}

function installed(language: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`@tesseract.js-data/${language}/package.json`);
    return true;
  } catch {
    return false;
  }
}

/** The given 1-based pages of a PDF as a PDF of their own (text layer, fonts and all). */
async function pagesOf(bytes: Uint8Array, pages: number[]): Promise<Uint8Array> {
  const source = await PDFDocument.load(bytes);
  const doc = await PDFDocument.create();
  for (const page of await doc.copyPages(
    source,
    pages.map((p) => p - 1),
  ))
    doc.addPage(page);
  return doc.save();
}

/** Pages of a PDF rendered at 300 dpi, each put back as one image on a page of the same size: no text layer. */
async function scannedPages(bytes: Uint8Array, pages: number[]): Promise<Uint8Array> {
  const source = await PDFDocument.load(bytes);
  const doc = await PDFDocument.create();
  for (const number of pages) {
    const { width, height } = source.getPage(number - 1).getSize();
    const image = await doc.embedPng((await renderPdfPage(bytes, number)).png);
    doc.addPage([width, height]).drawImage(image, { x: 0, y: 0, width, height });
  }
  return doc.save();
}

interface TextFigures {
  pages: number;
  runs: number;
  first_run_s: number;
  pages_per_s: number;
}

interface OcrFigures {
  file: string;
  pages: number[];
  languages: string;
  ocr_pages: number;
  seconds: number;
  pages_per_s: number;
  mean_confidence: number | null;
}

async function benchPdf(models: ModelPlane) {
  const config = parseConfig({});
  let ocrCalls = 0;
  const ocr = (): OcrEngine => {
    const inner = models.ocr();
    return {
      id: inner.id,
      warmUp: () => inner.warmUp(),
      close: () => inner.close(),
      recognize: (input, options) => {
        ocrCalls++;
        return inner.recognize(input, options);
      },
    };
  };
  const services = testServices({ config, ocr });
  const parseAuto = (stageConfig: unknown) =>
    bytesToDocument.create(bytesToDocument.configSchema.parse(stageConfig), services);
  const stage = parseAuto({});

  const text: Record<string, TextFigures | null> = { paper: null, manual: null };
  for (const [name, path] of [
    ["paper", PAPER],
    ["manual", MANUAL],
  ] as const) {
    if (!existsSync(path)) {
      console.log(`pdf text ${name}: skipped: fixture missing: ${path}`);
      continue;
    }
    const bytes = new Uint8Array(readFileSync(path));
    const calls = ocrCalls;
    const first = performance.now();
    const { document } = await stage.execute({ document: raw(name, bytes) }, CTX);
    const firstS = (performance.now() - first) / 1000;
    const pages = document.pages?.length ?? 0;
    let runs = 0;
    const started = performance.now();
    while (performance.now() - started < SECONDS * 1000) {
      await stage.execute({ document: raw(name, bytes) }, CTX);
      runs++;
    }
    const seconds = (performance.now() - started) / 1000;
    text[name] = { pages, runs, first_run_s: round(firstS, 2), pages_per_s: round((pages * runs) / seconds) };
    console.log(
      `pdf text ${name.padEnd(7)} ${String(text[name].pages_per_s).padStart(8)} pages/s  (${pages} pages × ${runs} runs ` +
        `in ${round(seconds, 2)} s; first run ${round(firstS, 2)} s; OCR calls ${ocrCalls - calls})`,
    );
  }
  const measured = Object.values(text).filter((t): t is TextFigures => t !== null);
  const textSeconds = measured.reduce((s, t) => s + (t.pages * t.runs) / t.pages_per_s, 0);
  const textPagesPerS = measured.length
    ? round(measured.reduce((s, t) => s + t.pages * t.runs, 0) / textSeconds)
    : null;

  let warmUpS: number | null = null;
  const ocrRun = async (file: string, pages: number[], bytes: Uint8Array, languages: string | undefined) => {
    if (warmUpS === null) {
      const started = performance.now();
      await models.ocr().warmUp();
      warmUpS = round((performance.now() - started) / 1000, 2);
      console.log(`OCR warm-up ${warmUpS} s (${models.mode}, ${models.ocr().id}, ${config.ocr.languages})`);
    }
    const ocrStage = parseAuto(languages ? { ocr: { languages } } : {});
    const started = performance.now();
    const { document } = await ocrStage.execute({ document: raw(file, bytes) }, CTX);
    const seconds = (performance.now() - started) / 1000;
    const read = (document.pages ?? []).filter((p) => p.method === "ocr");
    const confidences = read.map((p) => p.confidence ?? 0);
    const f: OcrFigures = {
      file,
      pages,
      languages: languages ?? config.ocr.languages,
      ocr_pages: read.length,
      seconds: round(seconds, 2),
      pages_per_s: round(pages.length / seconds, 3),
      mean_confidence: confidences.length ? round(confidences.reduce((a, b) => a + b, 0) / confidences.length) : null,
    };
    console.log(
      `pdf OCR ${file.padEnd(18)} ${String(f.pages_per_s).padStart(8)} pages/s  (pages ${pages.join(", ")}, ` +
        `${f.languages}, ${read.length} read by OCR, ${f.seconds} s, mean confidence ${f.mean_confidence ?? "-"}, ` +
        `${document.text.length} chars)`,
    );
    return f;
  };

  let thai: OcrFigures | null = null;
  if (OCR_PAGES === 0) console.log("pdf OCR lsh132.pdf: skipped (--ocr-pages 0)");
  else if (!existsSync(LSH132)) console.log(`pdf OCR lsh132.pdf: skipped: fixture missing: ${LSH132}`);
  else if (!installed("tha") || !installed("eng"))
    console.log("pdf OCR lsh132.pdf: skipped: tesseract's tha or eng model is not installed (@tesseract.js-data/*)");
  else {
    const pages = THAI_PAGES.slice(0, OCR_PAGES);
    thai = await ocrRun("lsh132.pdf", pages, await pagesOf(readFileSync(LSH132), pages), "tha+eng");
  }

  let scan: OcrFigures | null = null;
  if (SCAN_PAGES === 0) console.log("pdf OCR scanned paper: skipped (--scan-pages 0)");
  else if (!existsSync(PAPER)) console.log(`pdf OCR scanned paper: skipped: fixture missing: ${PAPER}`);
  else if (!installed("tha") || !installed("eng"))
    console.log("pdf OCR scanned paper: skipped: tesseract's tha or eng model is not installed (@tesseract.js-data/*)");
  else {
    const pages = Array.from({ length: SCAN_PAGES }, (_, i) => i + 1);
    scan = await ocrRun("scanned-paper.pdf", pages, await scannedPages(readFileSync(PAPER), pages), undefined);
  }

  return {
    text_pages_per_s: textPagesPerS,
    ocr_pages_per_s: thai?.pages_per_s ?? null,
    scan_ocr_pages_per_s: scan?.pages_per_s ?? null,
    ocr_warm_up_s: warmUpS,
    text,
    ocr: thai,
    scan,
  };
}

async function main(): Promise<void> {
  console.log(`node ${process.version}; ${SECONDS} s per adapter and per text PDF`);
  const adapters = await benchAdapters();
  const models = await createModelPlane(parseConfig({}));
  let pdf;
  try {
    pdf = await benchPdf(models);
  } finally {
    await models.close();
  }
  console.log(
    JSON.stringify({
      bench: "sources",
      node: process.version,
      seconds: SECONDS,
      rate_limits: "off (1e6 requests/s per host); paced_records_per_s is computed for the shipped pace",
      adapters,
      pdf,
    }),
  );
}

await main();
