import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { PDFDocument } from "pdf-lib";
import { parseConfig } from "../../config/load-config.ts";
import type { DocumentRef } from "../../contracts/document.ts";
import { isRetryable, isSluiceError } from "../../contracts/errors.ts";
import type { StageContext } from "../../pipeline/define-stage.ts";
import type { StageServices } from "../../pipeline/services.ts";
import { isWaitFor } from "../../pipeline/control.ts";
import { downloadPdf } from "./download-pdf.ts";
import { testServices } from "../../pipeline/services.fixture.ts";

let server: Server;
let base = "";
let dataDir = "";
let pdf: Uint8Array;
/** Set when the client hung up on `/grow` (the stream was aborted, not read to its end). */
let growClosed: Promise<void>;
let onGrowClosed: () => void = () => {};

function route(path: string, res: import("node:http").ServerResponse, req: import("node:http").IncomingMessage) {
  const redirect = /^\/r\/(\d+)$/.exec(path);
  if (redirect) {
    const left = Number(redirect[1]);
    res.writeHead(302, { location: left === 0 ? "/paper.pdf" : `/r/${left - 1}` }).end();
    return;
  }
  switch (path) {
    case "/paper.pdf":
      res.writeHead(200, { "content-type": "application/pdf", "content-length": pdf.length }).end(pdf);
      return;
    case "/landing":
      res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end("<!DOCTYPE html><html>Sign in</html>");
      return;
    case "/announced":
      // Announces more than the cap, sends the start of a PDF, then never finishes: only a client that refuses
      // from the header alone ends quickly.
      res.writeHead(200, { "content-type": "application/pdf", "content-length": 10_000_000 });
      res.write("%PDF-1.7\n");
      return;
    case "/grow": {
      res.writeHead(200, { "content-type": "application/pdf" });
      res.write("%PDF-1.7\n");
      const timer = setInterval(() => res.write(Buffer.alloc(1024, 0x20)), 2);
      req.socket.on("close", () => {
        clearInterval(timer);
        onGrowClosed();
      });
      return;
    }
    case "/to-metadata":
      res.writeHead(302, { location: "http://169.254.169.254/latest/meta-data/" }).end();
      return;
    case "/missing":
      res.writeHead(404).end("no such paper");
      return;
    case "/down":
      res.writeHead(503).end("maintenance");
      return;
    default:
      res.writeHead(500).end();
  }
}

function services(download: Record<string, unknown>): StageServices {
  return testServices({ config: parseConfig({ download: { perHostPerSecond: 1000, ...download } }), dataDir });
}

const ctx = (): StageContext => ({
  jobId: "job-1",
  docId: "doc-1",
  collection: "default",
  signal: new AbortController().signal,
  attempt: 1,
});

const urlRef = (url: string): DocumentRef => ({ id: "doc-1", source: url, kind: "url", url, meta: { from: "test" } });

const loopbackAllowed = { allowedHosts: ["127.0.0.1"] };

function download(path: string, download: Record<string, unknown> = loopbackAllowed, config = {}) {
  return downloadPdf.create(config, services(download)).execute({ ref: urlRef(`${base}${path}`) }, ctx());
}

async function failsWith(promise: Promise<unknown>, code: string, message: RegExp): Promise<Error> {
  let caught: Error | undefined;
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isSluiceError(err), String(err));
    assert.equal(err.code, code, err.message);
    assert.match(err.message, message);
    caught = err;
    return true;
  });
  return caught!;
}

describe("source.download", () => {
  before(async () => {
    const doc = await PDFDocument.create();
    doc.addPage().drawText("Downloaded paper");
    pdf = await doc.save();
    dataDir = await mkdtemp(join(tmpdir(), "sluice-download-"));
    server = createServer((req, res) => route(new URL(req.url ?? "/", "http://x").pathname, res, req));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  });

  it("streams a PDF, keeps it at downloads/<sha256>.pdf and records sha256, finalUrl and size", async () => {
    const { document } = await download("/paper.pdf");
    const sha256 = createHash("sha256").update(pdf).digest("hex");
    assert.equal(document.mediaType, "application/pdf");
    assert.deepEqual(Buffer.from(document.bytes), Buffer.from(pdf));
    assert.equal(document.ref.kind, "url");
    assert.equal(document.ref.path, join(dataDir, "downloads", `${sha256}.pdf`));
    assert.deepEqual(document.ref.meta, { from: "test", sha256, finalUrl: `${base}/paper.pdf`, bytes: pdf.length });
    assert.deepEqual(await readFile(document.ref.path), Buffer.from(pdf));
    // Written under a temporary name and renamed: nothing else is left behind.
    assert.deepEqual(await readdir(join(dataDir, "downloads")), [`${sha256}.pdf`]);
  });

  it("follows redirects up to maxRedirects, and refuses one more", async () => {
    const { document } = await download("/r/2", { ...loopbackAllowed, maxRedirects: 3 });
    assert.equal(document.ref.meta["finalUrl"], `${base}/paper.pdf`);
    const err = await failsWith(
      download("/r/3", { ...loopbackAllowed, maxRedirects: 3 }),
      "SOURCE_REJECTED",
      /too many redirects \(more than 3/,
    );
    assert.equal(isRetryable(err), false);
  });

  it("refuses an HTML landing page", async () => {
    await failsWith(download("/landing"), "DOWNLOAD_NOT_PDF", /\/landing answered an HTML page, not a PDF/);
  });

  it("refuses a Content-Length over the cap before reading the body", async () => {
    const started = Date.now();
    await failsWith(
      download("/announced", { ...loopbackAllowed, maxBytes: 4096, timeoutMs: 10_000 }),
      "DOCUMENT_TOO_LARGE",
      /announced as 10000000 bytes, over the 4096-byte limit/,
    );
    assert.ok(Date.now() - started < 5000, "refused from the header, without waiting for the body");
  });

  it("aborts a chunked body as soon as it grows past the cap", async () => {
    growClosed = new Promise((resolve) => (onGrowClosed = resolve));
    await failsWith(
      download("/grow", { ...loopbackAllowed, timeoutMs: 10_000 }, { maxBytes: 16 * 1024 }),
      "DOCUMENT_TOO_LARGE",
      /passed \d+ bytes, over the 16384-byte limit/,
    );
    await growClosed;
  });

  it("refuses loopback when not allowed, and a redirect from an allowed host to a forbidden one", async () => {
    await failsWith(download("/paper.pdf", {}), "DOWNLOAD_FORBIDDEN", /127\.0\.0\.1 is loopback/);
    const localhost = downloadPdf
      .create({}, services({}))
      .execute({ ref: urlRef(`http://localhost:${new URL(base).port}/paper.pdf`) }, ctx());
    await failsWith(localhost, "DOWNLOAD_FORBIDDEN", /localhost resolves to .+, which is loopback/);
    const err = await failsWith(download("/to-metadata"), "DOWNLOAD_FORBIDDEN", /169\.254\.169\.254 is link-local/);
    assert.equal(isRetryable(err), false);
  });

  it("fails for good on a 404 and retryably on a 503", async () => {
    const missing = await failsWith(download("/missing"), "SOURCE_REJECTED", /\/missing answered 404 Not Found/);
    assert.equal(isRetryable(missing), false);
    const down = await failsWith(download("/down"), "SOURCE_UNAVAILABLE", /\/down answered 503 Service Unavailable/);
    assert.equal(isRetryable(down), true);
  });

  it("reads a ref that is not a url as source.load does (a source run mixes text records and PDF-only ones)", async () => {
    const ref: DocumentRef = { id: "a", source: "openalex:W1", kind: "inline", text: "An abstract.", meta: {} };
    const { document } = await downloadPdf.create({}, services(loopbackAllowed)).execute({ ref }, ctx());
    assert.equal(Buffer.from(document.bytes).toString(), "An abstract.");
    assert.equal(document.ref.kind, "inline");
  });

  it("records pdf_downloaded; with wait, an unreachable host suspends the document once the policy's attempts are spent", async () => {
    const marks: string[] = [];
    const at = (attempt: number): StageContext => ({
      ...ctx(),
      attempt,
      acceptedAt: Date.now(),
      mark: (m) => marks.push(m),
    });
    const stage = downloadPdf.create(
      { wait: { recheckMs: 5000, deadlineMs: 60_000, afterAttempts: 2 } },
      services(loopbackAllowed),
    );
    await stage.execute({ ref: urlRef(`${base}/paper.pdf`) }, at(1));
    assert.deepEqual(marks, ["pdf_downloaded"]);
    // Before the last attempt the failure goes to the policy's retry as it is.
    await failsWith(stage.execute({ ref: urlRef(`${base}/down`) }, at(1)), "SOURCE_UNAVAILABLE", /503/);
    const before = Date.now();
    await assert.rejects(stage.execute({ ref: urlRef(`${base}/down`) }, at(2)), (err: unknown) => {
      assert.ok(isWaitFor(err), String(err));
      assert.equal(err.condition, `pdf-reachable:${new URL(base).host}`);
      assert.ok(err.until! >= before + 5000 && err.until! <= Date.now() + 5000);
      assert.match(err.message, /the PDF is not reachable yet \(.*503.*\); trying again at .*, giving up at /);
      return true;
    });
    // A 404 is the URL's fault: it fails for good, wait or not.
    await failsWith(stage.execute({ ref: urlRef(`${base}/missing`) }, at(2)), "SOURCE_REJECTED", /404/);
    // Past the deadline it fails, quoting why.
    const late = { ...at(2), acceptedAt: Date.now() - 61_000 };
    await failsWith(
      stage.execute({ ref: urlRef(`${base}/down`) }, late),
      "GATE_DEADLINE_EXCEEDED",
      /not ready within 1 min of being accepted: the PDF is not reachable yet/,
    );
  });
});
