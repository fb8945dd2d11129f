import { SluiceError } from "../../../contracts/errors.ts";

/**
 * Byte offset of the first ill-formed UTF-8 sequence (overlong forms, surrogates, code points above U+10FFFF,
 * stray continuation bytes, truncated sequences), or -1 when the bytes are valid UTF-8.
 */
function firstInvalidUtf8(bytes: Uint8Array, start: number): number {
  const n = bytes.length;
  let i = start;
  while (i < n) {
    const b0 = bytes[i] as number;
    if (b0 < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (b0 >= 0xc2 && b0 <= 0xdf) need = 1;
    else if (b0 >= 0xe0 && b0 <= 0xef) {
      need = 2;
      if (b0 === 0xe0) lo = 0xa0; // overlong
      if (b0 === 0xed) hi = 0x9f; // UTF-16 surrogates
    } else if (b0 >= 0xf0 && b0 <= 0xf4) {
      need = 3;
      if (b0 === 0xf0) lo = 0x90; // overlong
      if (b0 === 0xf4) hi = 0x8f; // above U+10FFFF
    } else return i;
    if (i + need >= n) return i; // truncated at end of input
    const b1 = bytes[i + 1] as number;
    if (b1 < lo || b1 > hi) return i;
    for (let k = 2; k <= need; k++) {
      const b = bytes[i + k] as number;
      if (b < 0x80 || b > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}

/** Byte offset of the first unpaired surrogate in UTF-16 code units (or an odd trailing byte), or -1. */
function firstInvalidUtf16(bytes: Uint8Array, start: number, littleEndian: boolean): number {
  const n = bytes.length;
  const unit = (i: number): number =>
    littleEndian
      ? (bytes[i] as number) | ((bytes[i + 1] as number) << 8)
      : ((bytes[i] as number) << 8) | (bytes[i + 1] as number);
  let i = start;
  while (i + 1 < n) {
    const u = unit(i);
    if (u >= 0xd800 && u <= 0xdbff) {
      if (i + 3 >= n) return i;
      const next = unit(i + 2);
      if (next < 0xdc00 || next > 0xdfff) return i;
      i += 4;
    } else if (u >= 0xdc00 && u <= 0xdfff) return i;
    else i += 2;
  }
  return i < n ? i : -1;
}

function hex(bytes: Uint8Array, offset: number, count: number): string {
  return Array.from(
    bytes.subarray(offset, offset + count),
    (b) => `0x${b.toString(16).toUpperCase().padStart(2, "0")}`,
  ).join(" ");
}

/** 1-based line number of a byte offset: counts LF bytes (UTF-8) or LF code units (UTF-16). */
function lineOf(bytes: Uint8Array, offset: number, start: number, utf16: "le" | "be" | undefined): number {
  let line = 1;
  if (utf16 === undefined) {
    for (let i = start; i < offset; i++) if (bytes[i] === 0x0a) line++;
  } else {
    const [lf, zero] = utf16 === "le" ? [0, 1] : [1, 0];
    for (let i = start; i + 1 < offset; i += 2) if (bytes[i + lf] === 0x0a && bytes[i + zero] === 0) line++;
  }
  return line;
}

function encodingError(
  source: string,
  encoding: string,
  bytes: Uint8Array,
  offset: number,
  start: number,
  utf16?: "le" | "be",
): SluiceError {
  const line = lineOf(bytes, offset, start, utf16);
  return new SluiceError(
    "DOCUMENT_ENCODING",
    `${source}: invalid ${encoding} at byte offset ${offset} (line ${line}, bytes ${hex(bytes, offset, 4)}); save the file as UTF-8`,
    { details: { source, encoding, byteOffset: offset, line } },
  );
}

function swapBytes(bytes: Uint8Array, start: number): Uint8Array {
  const out = new Uint8Array(bytes.length - start - ((bytes.length - start) % 2));
  for (let i = 0; i + 1 < out.length; i += 2) {
    out[i] = bytes[start + i + 1] as number;
    out[i + 1] = bytes[start + i] as number;
  }
  return out;
}

/**
 * Decodes document bytes to normalised text: strict UTF-8 (a UTF-8 BOM is stripped), or UTF-16 LE/BE when the
 * bytes start with the matching BOM. The result is Unicode NFC with LF line endings (CRLF and lone CR become LF).
 *
 * @param bytes the raw bytes
 * @param source file name or path named in errors
 * @throws SluiceError `DOCUMENT_ENCODING` naming the file, the byte offset and line of the first bad sequence
 *
 * @example
 * decodeText(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0x69, 0x0d, 0x0a]), "a.txt"); // "hi\n"
 * decodeText(new Uint8Array([0x61, 0xff]), "a.txt");
 * // throws DOCUMENT_ENCODING: "a.txt: invalid UTF-8 at byte offset 1 (line 1, bytes 0xFF); save the file as UTF-8"
 */
export function decodeText(bytes: Uint8Array, source: string): string {
  let text: string;
  if (bytes[0] === 0xff && bytes[1] === 0xfe) {
    const bad = firstInvalidUtf16(bytes, 2, true);
    if (bad >= 0) throw encodingError(source, "UTF-16LE", bytes, bad, 2, "le");
    text = new TextDecoder("utf-16le").decode(bytes.subarray(2));
  } else if (bytes[0] === 0xfe && bytes[1] === 0xff) {
    const bad = firstInvalidUtf16(bytes, 2, false);
    if (bad >= 0) throw encodingError(source, "UTF-16BE", bytes, bad, 2, "be");
    text = new TextDecoder("utf-16le").decode(swapBytes(bytes, 2));
  } else {
    const start = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
    try {
      text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes.subarray(start));
    } catch {
      const bad = firstInvalidUtf8(bytes, start);
      throw encodingError(source, "UTF-8", bytes, bad >= 0 ? bad : start, start);
    }
  }
  return text.replace(/\r\n?/g, "\n").normalize("NFC");
}
