import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../../config/load-config.ts";
import type { RawDocument } from "../../contracts/document.ts";
import { isSluiceError, SluiceError } from "../../contracts/errors.ts";
import type { ModelCallOptions, OcrEngine, OcrInput, OcrResult } from "../../models/ports.ts";
import { isWaitFor } from "../../pipeline/control.ts";
import type { StageContext } from "../../pipeline/define-stage.ts";
import { testServices } from "../../pipeline/services.fixture.ts";
import { pdfIr, PdfIrSchema } from "./pdf-ir.ts";
import { pdfOfPages } from "./pdf.fixture.ts";

/** OCR that reads "page N", and is down (MODEL_UNAVAILABLE) while `down` says so. */
class SwitchableOcr implements OcrEngine {
  readonly id = "switchable-ocr";
  readonly pages: number[] = [];
  down: (page: number) => boolean = () => false;
  warmUp = async (): Promise<void> => {};
  close = async (): Promise<void> => {};
  recognize = async (input: OcrInput, options: ModelCallOptions = {}): Promise<OcrResult> => {
    const page = input.page ?? 0;
    if (this.down(page)) throw new SluiceError("MODEL_UNAVAILABLE", "ocr server: connection refused");
    this.pages.push(page);
    return {
      text: `Scanned page ${page} read by OCR`,
      confidence: 91,
      words: [],
      languages: options.params?.languages ?? "",
    };
  };
}

const raw = (bytes: Uint8Array, mediaType = "application/pdf"): RawDocument => ({
  ref: {
    id: "paper",
    source: "https://example.org/paper.pdf",
    kind: "url",
    url: "https://example.org/paper.pdf",
    meta: {},
  },
  mediaType,
  bytes: new Uint8Array(bytes),
});

describe("parse.pdf-ir (two-phase PDF gate, phase one)", () => {
  let dataDir: string;
  let ocr: SwitchableOcr;
  let marks: string[];
  const ctx = (acceptedAt = Date.now()): StageContext => ({
    jobId: "job-1",
    docId: "paper",
    collection: "c",
    signal: new AbortController().signal,
    attempt: 1,
    acceptedAt,
    mark: (m) => marks.push(m),
  });
  const stage = (config: unknown = { wait: { recheckMs: 2000, deadlineMs: 60_000 } }) =>
    pdfIr.create(
      pdfIr.configSchema.parse(config),
      testServices({ config: parseConfig({ ocr: { languages: "eng" } }), dataDir, ocr: () => ocr }),
    );

  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "sluice-pdf-ir-"));
  });
  after(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it("keeps the IR as an artifact (pages, which were OCR'd, with what confidence) and records pdf_ir_ready; the same PDF reuses it", async () => {
    ocr = new SwitchableOcr();
    marks = [];
    const bytes = await pdfOfPages(["A real text layer.", null]);
    const { document } = await stage().execute({ document: raw(bytes) }, ctx());
    assert.deepEqual(marks, ["pdf_ir_ready"]);
    assert.equal(document.text, "A real text layer.\n\nScanned page 2 read by OCR");
    assert.deepEqual(ocr.pages, [2]);
    const dir = join(dataDir, "artifacts", "pdf-ir");
    const [file] = await readdir(dir);
    const ir = PdfIrSchema.parse(JSON.parse(await readFile(join(dir, file!), "utf8")));
    assert.deepEqual(ir.ocrPages, [2]);
    assert.deepEqual(
      ir.pages.map((p) => [p.number, p.method, p.confidence]),
      [
        [1, "text-layer", undefined],
        [2, "ocr", 91],
      ],
    );
    assert.equal(ir.ocr.languages, "eng");
    assert.deepEqual(ir.blocks, [
      { page: 1, text: "A real text layer.", method: "text-layer" },
      { page: 2, text: "Scanned page 2 read by OCR", method: "ocr" },
    ]);
    assert.equal(document.meta["pdfIr"], join(dir, file!));

    // Another job, same PDF, same OCR settings: no OCR call at all.
    const again = await stage().execute({ document: raw(bytes) }, ctx());
    assert.equal(again.document.text, document.text);
    assert.deepEqual(ocr.pages, [2]);
    // Other OCR languages are another IR.
    await stage({ ocr: { languages: "tha+eng" } }).execute({ document: raw(bytes) }, ctx());
    assert.deepEqual(ocr.pages, [2, 2]);
  });

  it("while OCR is away the document waits on ocr-ready with its reason; pages read before are not read again", async () => {
    ocr = new SwitchableOcr();
    marks = [];
    const bytes = await pdfOfPages([null, null, null, "The end."]);
    ocr.down = (page) => page >= 2;
    const accepted = Date.now();
    await assert.rejects(stage().execute({ document: raw(bytes) }, ctx(accepted)), (err: unknown) => {
      assert.ok(isWaitFor(err), String(err));
      assert.equal(err.condition, "ocr-ready");
      assert.ok(err.until! > Date.now() && err.until! <= Date.now() + 2000);
      assert.match(
        err.message,
        /^OCR is unavailable \(ocr server: connection refused\); 1 of 4 page\(s\) read, 3 to go; trying again at \S+, giving up at \S+$/,
      );
      return true;
    });
    assert.deepEqual(marks, []);
    assert.deepEqual(ocr.pages, [1]);

    ocr.down = () => false;
    const { document } = await stage().execute({ document: raw(bytes) }, ctx(accepted));
    assert.deepEqual(ocr.pages, [1, 2, 3], "page 1 came from the per-page checkpoint");
    assert.match(
      document.text,
      /^Scanned page 1 read by OCR\n\nScanned page 2 read by OCR\n\nScanned page 3 read by OCR\n\nThe end\.$/,
    );
    assert.deepEqual(marks, ["pdf_ir_ready"]);
    const left = (await readdir(join(dataDir, "artifacts", "pdf-ir"))).filter((f) => f.includes(".partial"));
    assert.deepEqual(left, [], "the partial file is gone once the IR is whole");
  });

  it("past its deadline it fails with GATE_DEADLINE_EXCEEDED quoting why; a bad PDF fails at once", async () => {
    ocr = new SwitchableOcr();
    ocr.down = () => true;
    marks = [];
    const bytes = await pdfOfPages([null, "Deadline paper."]);
    await assert.rejects(stage().execute({ document: raw(bytes) }, ctx(Date.now() - 61_000)), (err: unknown) => {
      assert.ok(isSluiceError(err), String(err));
      assert.equal(err.code, "GATE_DEADLINE_EXCEEDED");
      assert.match(
        err.message,
        /not ready within 1 min of being accepted: OCR is unavailable \(ocr server: connection refused\)/,
      );
      return true;
    });
    await assert.rejects(stage().execute({ document: raw(Buffer.from("%PDF-1.7 garbage")) }, ctx()), (err: unknown) => {
      assert.ok(isSluiceError(err) && err.code === "PDF_CORRUPT", String(err));
      return true;
    });
  });

  it("a damaged artifact is rebuilt; documents that are not PDFs are parsed as parse.auto parses them", async () => {
    ocr = new SwitchableOcr();
    marks = [];
    const bytes = await pdfOfPages([null]);
    await stage().execute({ document: raw(bytes) }, ctx());
    const dir = join(dataDir, "artifacts", "pdf-ir");
    for (const f of await readdir(dir)) await writeFile(join(dir, f), "{ not json");
    const { document } = await stage().execute({ document: raw(bytes) }, ctx());
    assert.equal(document.text, "Scanned page 1 read by OCR");
    assert.equal(ocr.pages.length, 2);

    const text = await stage().execute(
      { document: raw(Buffer.from("# Notes\n\nPlain markdown."), "text/markdown") },
      ctx(),
    );
    assert.equal(text.document.title, "Notes");
    assert.deepEqual(marks, ["pdf_ir_ready", "pdf_ir_ready"]);
  });
});
