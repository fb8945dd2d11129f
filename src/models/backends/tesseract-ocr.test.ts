import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, mkdtemp, readFile, readlink, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it, mock, type TestContext } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { Worker } from "node:worker_threads";
import { isSluiceError } from "../../contracts/errors.ts";
import { assertReads, describeOcrConformance, NO_THAI_FONT } from "../ocr-conformance.test-suite.ts";
import { findThaiFont, renderTextImage } from "../render-text-image.fixture.ts";
import { TesseractOcr } from "./tesseract-ocr.ts";

describeOcrConformance("tesseract.js", () => new TesseractOcr());

const ENGLISH = [
  "Meeting notes for the second quarter planning session.",
  "The budget was approved with two small changes.",
];
/** Resolves once the spied `postMessage` has handed a worker thread a message (bounded: a broken build fails). */
async function posted(post: { mock: { callCount(): number } }, ms = 10_000): Promise<void> {
  const until = Date.now() + ms;
  while (post.mock.callCount() === 0) {
    if (Date.now() > until) throw new Error(`no message was posted to a worker thread within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const repoRoot = fileURLToPath(new URL("../../..", import.meta.url));
const LSH132 = fileURLToPath(new URL("../../../../shared/fixtures/thai/lsh132.pdf", import.meta.url));

function isValidationError(pattern: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(isSluiceError(err), `not a SluiceError: ${String(err)}`);
    assert.equal(err.code, "VALIDATION_FAILED");
    assert.match(err.message, pattern);
    return true;
  };
}

void describe("TesseractOcr", () => {
  const ocr = new TesseractOcr({ languages: "eng" });
  let png: Uint8Array;
  before(async () => {
    png = await renderTextImage(ENGLISH, { font: "latin" });
    await ocr.warmUp();
  });
  after(async () => {
    await ocr.close();
  });

  void it("does no I/O in the constructor and has a fixed id", () => {
    const fresh = new TesseractOcr({ languages: "xyz", cacheDir: "/nonexistent/sluice-tessdata" });
    assert.equal(fresh.id, "tesseract.js@7-best_int");
  });

  void it("rejects a language with no installed model, naming it and the installed ones", async () => {
    await assert.rejects(
      ocr.recognize({ data: png, mediaType: "image/png" }, { params: { languages: "eng+xyz" } }),
      isValidationError(/"xyz" is not installed.*installed: eng, tha/),
    );
    await assert.rejects(
      ocr.recognize({ data: png, mediaType: "image/png" }, { params: { languages: "eng,tha" } }),
      isValidationError(/joined by \+/),
    );
    await assert.rejects(
      new TesseractOcr({ languages: "klingon" }).warmUp(),
      isValidationError(/"klingon" is not installed/),
    );
  });

  void it("rejects a minConfidence outside 0-100", async () => {
    await assert.rejects(
      ocr.recognize({ data: png, mediaType: "image/png" }, { params: { minConfidence: 101 } }),
      isValidationError(/minConfidence/),
    );
  });

  void it("leaves words below params.minConfidence out of the text but keeps them in words", async () => {
    // Look-alike characters (Il1|, 0O0) are what tesseract is unsure of: they give a spread of confidences.
    const mixed = await renderTextImage([ENGLISH[0]!, "The code on the label reads Il1| 0O0 ..,"], { font: "latin" });
    const all = await ocr.recognize({ data: mixed, mediaType: "image/png" });
    const confidences = all.words.map((w) => w.confidence);
    const threshold = (Math.min(...confidences) + Math.max(...confidences)) / 2;
    const kept = all.words.filter((w) => w.confidence >= threshold).map((w) => w.text);
    assert.ok(kept.length < all.words.length, `no word below ${threshold}: ${confidences.join(", ")}`);
    const filtered = await ocr.recognize(
      { data: mixed, mediaType: "image/png" },
      { params: { minConfidence: threshold } },
    );
    assert.deepEqual(filtered.text.split(/\s+/), kept);
    assert.deepEqual(filtered.words, all.words);
  });

  void it("puts Thai first in eng+tha, so Thai comes back without a space between letter clusters", async (t: TestContext) => {
    if (findThaiFont() === null) {
      t.skip(NO_THAI_FONT);
      return;
    }
    const lines = ["กรุณาส่งเอกสารภายในวันศุกร์นี้"];
    const result = await ocr.recognize(
      { data: await renderTextImage(lines, { font: "thai" }), mediaType: "image/png" },
      { params: { languages: "eng+tha" } },
    );
    assert.equal(result.languages, "tha+eng");
    assertReads(result, lines, "thai read as eng+tha");
    assert.doesNotMatch(result.text, / /, `spaces in ${JSON.stringify(result.text)}`);
  });

  void it("keeps the tone marks stacked over Thai upper vowels on a book page (lsh132.pdf p. 14)", async (t: TestContext) => {
    if (!existsSync(LSH132)) return t.skip(`fixture missing: ${LSH132} (the shared fixtures are not checked out)`);
    const result = await ocr.recognize(
      { data: new Uint8Array(await readFile(LSH132)), mediaType: "application/pdf", page: 14 },
      { params: { languages: "tha+eng" } },
    );
    // With tesseract's default line size these came back as ทีเขาคิด, นีก็จะ, สิงต่างๆตามที.
    for (const phrase of ["ที่เขาคิด", "พิมพ์นี้ก็จะ", "สิ่งต่างๆตามที่"]) assert.ok(result.text.includes(phrase), phrase);
  });

  void it("runs overlapping calls one at a time on one worker, each with its own result", async () => {
    const other = await renderTextImage(["Invoices are due within thirty days."], { font: "latin" });
    const [a, b] = await Promise.all([
      ocr.recognize({ data: png, mediaType: "image/png" }),
      ocr.recognize({ data: other, mediaType: "image/png" }),
    ]);
    assertReads(a, ENGLISH, "first");
    assertReads(b, ["Invoices are due within thirty days."], "second");
  });

  void it("on abort during recognition, rejects at once with the reason, terminates the worker, and the next call gets a new one", async () => {
    // 16 lines: seconds of work, so the abort surely lands mid-read (an aborted read costs nothing after it).
    const long = await renderTextImage(Array.from({ length: 8 }, () => ENGLISH).flat(), { font: "latin" });
    // tesseract.js runs each worker on a worker_threads Worker: count the threads it terminates.
    const terminate = mock.method(Worker.prototype, "terminate");
    // The image goes to tesseract's thread by postMessage: once posted, the thread is reading.
    const post = mock.method(Worker.prototype, "postMessage");
    try {
      const controller = new AbortController();
      const reason = new Error("caller gave up");
      const pending = ocr.recognize({ data: long, mediaType: "image/png" }, { signal: controller.signal });
      await posted(post);
      const abortedAt = Date.now();
      controller.abort(reason);
      await assert.rejects(pending, (err) => err === reason);
      assert.ok(Date.now() - abortedAt < 100, `took ${Date.now() - abortedAt} ms to reject`);
      assert.equal(terminate.mock.callCount(), 1, "worker threads terminated");
    } finally {
      terminate.mock.restore();
      post.mock.restore();
    }
    assertReads(await ocr.recognize({ data: png, mediaType: "image/png" }), ENGLISH, "after abort");
  });

  void it(
    "rejects with MODEL_UNAVAILABLE, not a hang, when the worker thread dies mid-read, and recovers",
    { timeout: 20_000 },
    async () => {
      const long = await renderTextImage(Array.from({ length: 8 }, () => ENGLISH).flat(), { font: "latin" });
      // The image goes to tesseract's thread by postMessage: the spy hands us that thread.
      const post = mock.method(Worker.prototype, "postMessage");
      try {
        const pending = ocr.recognize({ data: long, mediaType: "image/png" });
        await posted(post);
        const thread = post.mock.calls.at(-1)?.this as Worker | undefined;
        assert.ok(thread, "no message was posted to a worker thread");
        await thread.terminate();
        await assert.rejects(
          pending,
          (err: unknown) => isSluiceError(err) && err.code === "MODEL_UNAVAILABLE" && /exited/.test(err.message),
        );
      } finally {
        post.mock.restore();
      }
      assertReads(await ocr.recognize({ data: png, mediaType: "image/png" }), ENGLISH, "after the thread died");
    },
  );

  void it("links the models into cacheDir and refuses a folder others can write to", async () => {
    const dir = await mkdtemp(join(tmpdir(), "sluice-tessdata-test-"));
    try {
      const engine = new TesseractOcr({ languages: "eng", cacheDir: dir });
      await engine.warmUp();
      await engine.close();
      assert.match(
        await readlink(join(dir, "eng.traineddata.gz")),
        /@tesseract\.js-data\/eng\/4\.0\.0_best_int\/eng\.traineddata\.gz$/,
      );
      await chmod(dir, 0o777);
      await assert.rejects(
        new TesseractOcr({ languages: "eng", cacheDir: dir }).warmUp(),
        (err: unknown) =>
          isSluiceError(err) && err.code === "MODEL_UNAVAILABLE" && /closed to others/.test(err.message),
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  void it("does not load tesseract.js until it is warmed up (checked in a fresh process)", async () => {
    // CommonJS -e: --input-type=module would be passed on to tsx's loader thread, which refuses it.
    const script = `
      const loaded = () => Object.keys(require.cache).some((path) => path.includes("/node_modules/tesseract.js/"));
      (async () => {
        const { TesseractOcr } = await import(${JSON.stringify(new URL("./tesseract-ocr.ts", import.meta.url).href)});
        const ocr = new TesseractOcr({ languages: "eng" });
        const afterConstruct = loaded();
        await ocr.warmUp();
        const afterWarmUp = loaded();
        await ocr.close();
        console.log(JSON.stringify({ afterConstruct, afterWarmUp }));
      })().catch((err) => { console.error(err); process.exitCode = 1; });`;
    const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "-e", script], {
      cwd: repoRoot,
      timeout: 30_000,
    });
    // afterWarmUp shows the check can see tesseract.js at all.
    assert.deepEqual(JSON.parse(stdout.trim().split("\n").at(-1)!), { afterConstruct: false, afterWarmUp: true });
  });
});
