import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { PDFDocument } from "pdf-lib";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";

/**
 * Issue 11, end to end: lsh132.pdf's text layer is broken (Thai TIS-620 bytes read as Latin-1:
 * ฉบับ extracts as ©ºÑº), so before parse.auto OCR'd such pages the book ingested COMPLETED and a
 * Thai query found nothing. Two of its body-text pages go through the engine (shipped `auto`
 * pipeline, hash embedder, in-process tesseract with its bundled tha+eng models); the phrase is
 * on page 23 both in the OCR output and in the book's LaTeX source. The PDF embeds its Thai font
 * (DBThaiText, FontFile2), so rendering the pages needs no system Thai font.
 */

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const LSH132 = join(repoRoot, "../shared/fixtures/thai/lsh132.pdf");
/** 1-based pages of the book: body text with the lowest OCR CER in bench:thai-ocr (7.3%, 6.9%). */
const PAGES = [14, 23];
/** Page 23: "…มีการตัดแบ่งพยางค์ตรงกลางคำ โดยใช้ขีดคั่น…" (hyphenation). */
const PHRASE = "ตัดแบ่งพยางค์ตรงกลางคำ";
const PDF_NAME = "lsh132-p14-p23.pdf";

function skipReason(): string | false {
  if (!existsSync(LSH132)) return `fixture missing: ${LSH132} (the shared fixtures are not checked out)`;
  try {
    createRequire(import.meta.url).resolve("@tesseract.js-data/tha/package.json");
  } catch {
    return "tesseract's Thai model is not installed (no @tesseract.js-data/tha package)";
  }
  return false;
}

/** The two pages of the book as a PDF of their own, copied with their (broken) text layer. */
async function twoPagePdf(): Promise<Uint8Array> {
  const source = await PDFDocument.load(readFileSync(LSH132));
  const doc = await PDFDocument.create();
  const pages = await doc.copyPages(
    source,
    PAGES.map((p) => p - 1),
  );
  for (const page of pages) doc.addPage(page);
  return doc.save();
}

/** pipelines/auto.yaml with OCR turned off on the parse node: what parse.auto did before. */
function noOcrPipeline(dir: string): string {
  const auto = readFileSync(join(repoRoot, "pipelines/auto.yaml"), "utf8");
  const patched = auto
    .replace(/^name: auto$/m, "name: auto-no-ocr")
    .replace(/^( {4}type: parse\.auto\n)/m, "$1    config: { ocr: { enabled: false } }\n");
  assert.notEqual(patched, auto);
  assert.match(patched, /type: parse\.auto\n {4}config: \{ ocr: \{ enabled: false \} \}\n/);
  const path = join(dir, "auto-no-ocr.yaml");
  writeFileSync(path, patched);
  return path;
}

void describe("a Thai PDF with a broken text layer, ingested end to end", { skip: skipReason() }, () => {
  let dir: string;
  let docs: string;
  let sluice: Sluice;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-thai-"));
    docs = join(dir, "docs");
    mkdirSync(docs);
    writeFileSync(join(docs, PDF_NAME), await twoPagePdf());
    // A Thai distractor sharing some of the query's words (ตัด, ตรง, กลาง), so "first" means something.
    writeFileSync(join(docs, "recipe.txt"), "วิธีทำสลัด ตัดผักเป็นชิ้นเล็กๆ แล้ววางไว้ตรงกลางจาน โรยงาให้ทั่ว");
    sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      config: parseConfig({}),
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
  });
  after(async () => {
    await sluice?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  void it("OCRs the pages, and a Thai phrase from them finds the PDF first", async (t) => {
    const started = performance.now();
    const job = await sluice.submitPaths({ collection: "thai", paths: [docs] });
    const ended = await sluice.runJob(job.id);
    t.diagnostic(`ingest with OCR: ${((performance.now() - started) / 1000).toFixed(1)} s`);
    assert.deepEqual([ended.state, ended.done, ended.failed], ["COMPLETED", 2, 0]);

    // The pages' `method: "ocr"` is not observable here: the parse node's checkpoint goes when the
    // document completes, and the index keeps chunks, not pages. What was indexed is Thai that only
    // OCR reads off these pages: the text layer has none (see the OCR-off case below).
    const { results } = await sluice.query({ collection: "thai", query: PHRASE, mode: "lexical", answer: false });
    t.diagnostic(JSON.stringify(results.map((r) => [r.docId, r.page, r.score.toFixed(3)])));
    const top = results[0];
    assert.ok(top, "the query finds something");
    assert.equal(top.docId, PDF_NAME);
    assert.ok(top.text.replace(/\s+/g, "").includes(PHRASE), `the hit has "${PHRASE}": ${top.text}`);
    assert.doesNotMatch(top.text, /©ºÑº|[\u00C0-\u00FF]{3}/, "no Latin-1 mojibake of the text layer");
    assert.ok(
      results.some((r) => r.docId === "recipe.txt"),
      "the distractor matches too, ranked below",
    );
  });

  void it("with OCR off (the broken text layer) the same query does not find the PDF", async () => {
    const job = await sluice.submitPaths({ collection: "thai-no-ocr", paths: [docs], pipeline: noOcrPipeline(dir) });
    const ended = await sluice.runJob(job.id);
    assert.deepEqual([ended.state, ended.done, ended.failed], ["COMPLETED", 2, 0]);
    assert.equal((await sluice.stats("thai-no-ocr")).documents, 2, "the PDF was indexed, text layer and all");

    const { results } = await sluice.query({
      collection: "thai-no-ocr",
      query: PHRASE,
      mode: "lexical",
      answer: false,
    });
    assert.deepEqual(
      results.map((r) => r.docId),
      ["recipe.txt"],
    );
  });
});
