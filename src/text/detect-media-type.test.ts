import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSluiceError } from "../contracts/errors.ts";
import { detectMediaType, mediaTypeForPath } from "./detect-media-type.ts";

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);
const ELF = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0, 0, 0, 0, 0]);

void describe("detectMediaType", () => {
  void it("types by extension", () => {
    assert.equal(detectMediaType(enc("hello"), "a.txt"), "text/plain");
    assert.equal(detectMediaType(enc("# hi"), "docs/A.MD"), "text/markdown");
    assert.equal(detectMediaType(enc("# hi"), "a.markdown"), "text/markdown");
    assert.equal(detectMediaType(enc("<p>x</p>"), "a.htm"), "text/html");
    assert.equal(mediaTypeForPath("x/y.jsonl"), "application/x-ndjson");
    assert.equal(mediaTypeForPath("x/y.docx"), undefined);
  });

  void it("trusts magic bytes: %PDF- means PDF, <!doctype html> means HTML for unknown names", () => {
    assert.equal(detectMediaType(enc("%PDF-1.7\n%âãÏÓ\n"), "download.bin"), "application/pdf");
    assert.equal(detectMediaType(enc("\n  <!DOCTYPE html><html><body>x</body></html>"), "page"), "text/html");
    assert.equal(detectMediaType(enc("<html><body>x</body></html>"), "page.php"), "text/html");
    assert.equal(detectMediaType(enc("plain words"), "notes.rtf"), "application/octet-stream");
  });

  void it("uses a supported declared type when the name says nothing", () => {
    assert.equal(detectMediaType(enc("# Title"), "upload-1", "text/markdown"), "text/markdown");
  });

  void it("rejects binary bytes in a .txt file", () => {
    for (const [bytes, why] of [
      [PNG, /PNG image signature/],
      [ELF, /ELF executable signature/],
      [new Uint8Array([0x50, 0x4b, 0x03, 0x04, 0x14, 0, 0, 0]), /ZIP/],
      [new Uint8Array(Array.from({ length: 64 }, (_, i) => (i % 3 === 0 ? 0 : 0x41))), /NUL bytes/],
      [new Uint8Array(Array.from({ length: 64 }, (_, i) => (i % 2 === 0 ? 0x01 : 0x41))), /control characters/],
    ] as const) {
      assert.throws(
        () => detectMediaType(bytes, "docs/photo.txt"),
        (err: unknown) =>
          isSluiceError(err) &&
          err.code === "DOCUMENT_BINARY" &&
          err.message.startsWith("docs/photo.txt: file looks binary") &&
          why.test(err.message),
      );
    }
  });

  void it("types binary files with unknown extensions as octet-stream instead of failing", () => {
    assert.equal(detectMediaType(PNG, "photo.png"), "application/octet-stream");
  });

  void it("accepts UTF-16 text (NUL bytes) when it has a BOM, and ANSI escapes in logs", () => {
    const u16 = new Uint8Array([0xff, 0xfe, ...Buffer.from("hello", "utf16le")]);
    assert.equal(detectMediaType(u16, "u.txt"), "text/plain");
    assert.equal(detectMediaType(enc("\u001b[32mok\u001b[0m build passed\n"), "build.txt"), "text/plain");
  });
});
