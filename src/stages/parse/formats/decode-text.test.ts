import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isSluiceError } from "../../../contracts/errors.ts";
import { decodeText } from "./decode-text.ts";

function utf16(text: string, bigEndian: boolean): Uint8Array {
  const le = Buffer.from(text, "utf16le");
  if (bigEndian) le.swap16();
  return new Uint8Array([...(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), ...le]);
}

void describe("decodeText", () => {
  void it("decodes UTF-8, strips the BOM, normalises line endings and NFC", () => {
    const bytes = new Uint8Array([0xef, 0xbb, 0xbf, ...Buffer.from("cafe\u0301\r\nline two\rthree\n")]);
    assert.equal(decodeText(bytes, "a.txt"), "caf\u00e9\nline two\nthree\n");
  });

  void it("decodes UTF-16 LE and BE with a BOM", () => {
    const text = "Grüße, 世界 🌍\r\nzweite Zeile";
    assert.equal(decodeText(utf16(text, false), "le.txt"), "Grüße, 世界 🌍\nzweite Zeile");
    assert.equal(decodeText(utf16(text, true), "be.txt"), "Grüße, 世界 🌍\nzweite Zeile");
  });

  void it("rejects invalid UTF-8 naming the file, byte offset and line", () => {
    const good = Buffer.from("line one\nline twö\n");
    const bytes = new Uint8Array([...good, 0x61, 0xc3, 0x28, 0x62]);
    assert.throws(
      () => decodeText(bytes, "docs/latin.txt"),
      (err: unknown) => {
        assert.ok(isSluiceError(err));
        assert.equal(err.code, "DOCUMENT_ENCODING");
        assert.match(
          err.message,
          new RegExp(`^docs/latin\\.txt: invalid UTF-8 at byte offset ${good.length + 1} \\(line 3`),
        );
        assert.equal(err.details?.["byteOffset"], good.length + 1);
        return true;
      },
    );
  });

  void it("rejects overlong forms, surrogates and truncated sequences at the right offset", () => {
    const cases: Array<[number[], number]> = [
      [[0x41, 0xc0, 0x80], 1], // overlong NUL
      [[0x41, 0x42, 0xed, 0xa0, 0x80], 2], // UTF-16 surrogate
      [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
      [[0x41, 0xe2, 0x82], 1], // truncated at the end
      [[0x80], 0], // stray continuation byte
      [[0xef, 0xbb, 0xbf, 0x41, 0xff], 4], // after a BOM
    ];
    for (const [bytes, offset] of cases) {
      assert.throws(
        () => decodeText(new Uint8Array(bytes), "x.txt"),
        (err: unknown) => isSluiceError(err) && err.details?.["byteOffset"] === offset,
        `offset ${offset} for ${bytes.join(",")}`,
      );
    }
  });

  void it("rejects an unpaired UTF-16 surrogate", () => {
    const bytes = new Uint8Array([0xff, 0xfe, 0x41, 0x00, 0x00, 0xd8, 0x41, 0x00]);
    assert.throws(
      () => decodeText(bytes, "u16.txt"),
      (err: unknown) =>
        isSluiceError(err) &&
        err.code === "DOCUMENT_ENCODING" &&
        /u16\.txt: invalid UTF-16LE at byte offset 4/.test(err.message),
    );
  });
});
