import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { after, describe, it, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { PDFDocument } from "pdf-lib";
import { parseConfig } from "../../config/load-config.ts";
import type { RawDocument } from "../../contracts/document.ts";
import { isSluiceError, SluiceError } from "../../contracts/errors.ts";
import { TesseractOcr } from "../../models/backends/tesseract-ocr.ts";
import type { ModelCallOptions, OcrEngine, OcrInput, OcrResult } from "../../models/ports.ts";
import type { StageContext } from "../../pipeline/define-stage.ts";
import type { StageServices } from "../../pipeline/services.ts";
import { bytesToDocument } from "./bytes-to-document.ts";
import { pdfOfPages, scannedPdf } from "./pdf.fixture.ts";
import { testServices } from "../../pipeline/services.fixture.ts";

const LSH132 = fileURLToPath(new URL("../../../../shared/fixtures/thai/lsh132.pdf", import.meta.url));

function raw(source: string, bytes: Uint8Array): RawDocument {
  return {
    ref: { id: source, source, kind: "file", path: `/abs/${source}`, meta: {} },
    mediaType: "application/pdf",
    bytes: new Uint8Array(bytes),
  };
}

function ctx(signal = new AbortController().signal): StageContext {
  return { jobId: "job-1", docId: "doc-1", collection: "c", signal, attempt: 1 };
}

function services(ocr: () => OcrEngine, config = parseConfig({})): StageServices {
  return testServices({ config, ocr });
}

function parseAuto(config: unknown, svc: StageServices) {
  return bytesToDocument.create(bytesToDocument.configSchema.parse(config), svc);
}

/** Records its calls and answers `page N` (or what `answer` says) for each. */
class FakeOcr implements OcrEngine {
  readonly id = "fake-ocr";
  readonly calls: Array<{ input: OcrInput; options: ModelCallOptions }> = [];
  constructor(private readonly answer: (page: number) => string | Error = (page) => `Read by OCR on page ${page}`) {}
  warmUp = async (): Promise<void> => {};
  close = async (): Promise<void> => {};
  recognize = async (input: OcrInput, options: ModelCallOptions = {}): Promise<OcrResult> => {
    this.calls.push({ input, options });
    const text = this.answer(input.page ?? 0);
    if (text instanceof Error) throw text;
    return { text, confidence: 87, words: [], languages: options.params?.languages ?? "eng" };
  };
}

function rejectsWithCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(isSluiceError(err), `not a SluiceError: ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

void describe("parse.auto OCR", () => {
  void it("OCRs only the pages without a text layer, in order, in the node's languages, recording the confidence", async () => {
    const ocr = new FakeOcr();
    const bytes = await pdfOfPages(["A page with a real text layer.", null, "Another real page."]);
    const { document } = await parseAuto(
      { ocr: { languages: "tha+eng", minConfidence: 30 } },
      services(() => ocr),
    ).execute({ document: raw("mixed.pdf", bytes) }, ctx());
    assert.deepEqual(
      document.pages?.map((p) => [p.number, p.method, p.text, p.confidence]),
      [
        [1, "text-layer", "A page with a real text layer.", undefined],
        [2, "ocr", "Read by OCR on page 2", 87],
        [3, "text-layer", "Another real page.", undefined],
      ],
    );
    assert.equal(document.text, "A page with a real text layer.\n\nRead by OCR on page 2\n\nAnother real page.");
    assert.equal(ocr.calls.length, 1);
    assert.deepEqual(ocr.calls[0]!.input, { data: bytes, mediaType: "application/pdf", page: 2 });
    assert.deepEqual(ocr.calls[0]!.options.params, { languages: "tha+eng", minConfidence: 30 });
  });

  void it("takes the languages from sluice.yaml's ocr.languages when the node names none, and folds tesseract's SARA AM", async () => {
    const ocr = new FakeOcr(() => "น\u0E49\u0E4D\u0E32 \nok");
    const svc = services(() => ocr, parseConfig({ ocr: { languages: "eng" } }));
    const { document } = await parseAuto({}, svc).execute(
      { document: raw("scan.pdf", await pdfOfPages([null])) },
      ctx(),
    );
    assert.equal(ocr.calls[0]!.options.params?.languages, "eng");
    assert.equal(document.text, "น\u0E49\u0E33\nok");
  });

  void it("fails DOCUMENT_EMPTY when OCR reads nothing either", async () => {
    const svc = services(() => new FakeOcr(() => "  "));
    await assert.rejects(
      parseAuto({}, svc).execute({ document: raw("blank.pdf", await pdfOfPages([null, null])) }, ctx()),
      (err: unknown) => rejectsWithCode("DOCUMENT_EMPTY")(err) && /neither a text layer nor text OCR/.test(String(err)),
    );
  });

  void it("lets a retryable OCR error through to the node's policy, and stops between pages on abort", async () => {
    const unavailable = new FakeOcr(() => new SluiceError("MODEL_UNAVAILABLE", "model server down"));
    const bytes = await pdfOfPages([null, null]);
    await assert.rejects(
      parseAuto(
        {},
        services(() => unavailable),
      ).execute({ document: raw("scan.pdf", bytes) }, ctx()),
      (err: unknown) => rejectsWithCode("MODEL_UNAVAILABLE")(err) && isSluiceError(err) && err.retryable,
    );
    const controller = new AbortController();
    const aborting = new FakeOcr((page) => {
      controller.abort();
      return `page ${page}`;
    });
    await assert.rejects(
      parseAuto(
        {},
        services(() => aborting),
      ).execute({ document: raw("scan.pdf", bytes) }, ctx(controller.signal)),
      { name: "AbortError" },
    );
    assert.equal(aborting.calls.length, 1);
  });

  void it("with ocr.enabled: false keeps the old behaviour: a scan fails DOCUMENT_EMPTY (needsOcr) and no OCR runs", async () => {
    const svc = services(() => assert.fail("OCR must not be used"));
    await assert.rejects(
      parseAuto({ ocr: { enabled: false } }, svc).execute(
        { document: raw("scan.pdf", await pdfOfPages([null])) },
        ctx(),
      ),
      (err: unknown) =>
        rejectsWithCode("DOCUMENT_EMPTY")(err) && isSluiceError(err) && err.details?.["needsOcr"] === true,
    );
    const { document } = await parseAuto({ ocr: { enabled: false } }, svc).execute(
      { document: raw("text.pdf", await pdfOfPages(["Plain text layer.", null])) },
      ctx(),
    );
    assert.deepEqual(
      document.pages?.map((p) => p.method),
      ["text-layer", "text-layer"],
    );
  });

  void it("rejects unknown ocr settings and bad languages in the node config", () => {
    assert.throws(() => bytesToDocument.configSchema.parse({ ocr: { enable: true } }));
    assert.throws(() => bytesToDocument.configSchema.parse({ ocr: { languages: "English" } }));
  });
});

void describe("parse.auto OCR with tesseract", () => {
  const tesseract = new TesseractOcr();
  after(async () => {
    await tesseract.close();
  });

  void it("reads a scanned PDF (one PNG, no text layer) that used to fail DOCUMENT_EMPTY", async () => {
    // As if scanned at 150 dpi: the OCR engine renders it back at 300.
    const bytes = await scannedPdf(["Invoices are archived for seven years.", "Scanned pages are read by OCR."]);

    const svc = services(() => tesseract);
    await assert.rejects(
      parseAuto({ ocr: { enabled: false } }, svc).execute({ document: raw("scans/invoice.pdf", bytes) }, ctx()),
      rejectsWithCode("DOCUMENT_EMPTY"),
    );
    const { document } = await parseAuto({ ocr: { languages: "eng" } }, svc).execute(
      { document: raw("scans/invoice.pdf", bytes) },
      ctx(),
    );
    assert.equal(document.pages?.[0]?.method, "ocr");
    assert.ok((document.pages?.[0]?.confidence ?? 0) > 50, `confidence ${document.pages?.[0]?.confidence}`);
    assert.match(document.text, /Invoices are archived for seven years\./);
    assert.match(document.text, /Scanned pages are read by OCR\./);
  });

  void it("replaces lsh132.pdf's broken Thai text layer (ฉบÑบ read as ©ºÑº) with OCR text", async (t: TestContext) => {
    if (!existsSync(LSH132)) return t.skip(`fixture missing: ${LSH132} (the shared fixtures are not checked out)`);
    const source = await PDFDocument.load(await readFile(LSH132));
    const doc = await PDFDocument.create();
    // Page 3, the acknowledgements: "…เอกสารฉบับนี้…", extracted as "…àÍ¡ÊÒÃ©ºÑº¹Õ…".
    const [page3] = await doc.copyPages(source, [2]);
    doc.addPage(page3);
    const bytes = await doc.save();

    const { document } = await parseAuto(
      { ocr: { languages: "tha+eng" } },
      services(() => tesseract),
    ).execute({ document: raw("lsh132-p3.pdf", bytes) }, ctx());
    t.diagnostic(JSON.stringify(document.text.slice(0, 200)));
    assert.equal(document.pages?.[0]?.method, "ocr");
    assert.match(document.text, /ฉบับนี้/);
    assert.match(document.title, /ขอขอบคุณ/);
    assert.doesNotMatch(document.text, /[\u00C0-\u00FF]|©ºÑº/);
  });
});
