import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { encode as pack } from "@msgpack/msgpack";
import { DocumentRefSchema } from "./document.ts";
import { decodeEnvelope, encodeEnvelope, envelopeToRef, type EnvelopeV1 } from "./envelope.ts";

const sha256 = (s: string): string => createHash("sha256").update(s, "utf8").digest("hex");

/**
 * The envelope behind `fixtures/envelope-v1.msgpack`. The fixture holds `encodeEnvelope(FIXED)` as written when
 * the v1 format was introduced; never regenerate it to make a test pass: a change here means old spools no longer read.
 */
const FIXED_TEXT = "Sluice รับเอกสาร: ภาษาไทย, English & emoji 🌊 — v1";
const FIXED: EnvelopeV1 = {
  v: 1,
  id: "docs/ไทย/guide.md#3",
  source: "docs/ไทย/guide.md",
  text_hash: "7d224cd57d43ffc7b6653a921f6d6da92b62951b75319cc28d67dcd000ed50ad",
  char_len: 50,
  tags: ["lang:th", "size:small", "type:text/markdown", "pii:email"],
  pii: { email: 1, phone: 0 },
  lane: "high",
  version: "auto@da2ec3be1306",
  ts_ms: 1735689600123,
  meta: {
    origin: "upload",
    attempt: 2,
    score: 0.75,
    flags: [true, false],
    note: null,
    nested: { page: 300, offset: -40000 },
  },
  job_id: "job_01JGXQ8Z3K7M",
  collection: "handbook",
  pipeline: "auto",
  payload: { kind: "inline", text: FIXED_TEXT, title: "คู่มือ Guide", media_type: "text/markdown" },
};

const FIXTURE = new URL("./fixtures/envelope-v1.msgpack", import.meta.url);

const fileEnvelope = (): EnvelopeV1 => ({
  ...FIXED,
  id: "reports/2024/annual.pdf",
  source: "/data/in/reports/2024/annual.pdf",
  text_hash: createHash("sha256")
    .update(new Uint8Array([0x25, 0x50, 0x44, 0x46]))
    .digest("hex"),
  char_len: 0,
  tags: ["lang:und", "size:large", "type:application/pdf"],
  pii: { email: 0, phone: 0 },
  lane: "bulk",
  meta: {},
  payload: {
    kind: "file",
    path: "/data/in/reports/2024/annual.pdf",
    media_type: "application/pdf",
    size: 7_340_032_000,
  },
});

const invalid = (message: RegExp) => ({ name: "SluiceError", code: "VALIDATION_FAILED", message });

/**
 * A deliberately strict MessagePack reader: core types only, any extension type (msgpackr records, undefined,
 * timestamps) or the never-used byte 0xc1 throws. 64-bit integers come back as BigInt so their type shows.
 */
function strictDecode(bytes: Uint8Array): unknown {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder("utf-8", { fatal: true });
  let pos = 0;
  const take = (n: number): number => {
    if (pos + n > bytes.length) throw new Error("truncated");
    const at = pos;
    pos += n;
    return at;
  };
  const str = (n: number): string => utf8.decode(bytes.subarray(take(n), pos));
  const arr = (n: number): unknown[] => Array.from({ length: n }, () => read());
  const map = (n: number): Record<string, unknown> => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < n; i++) {
      const key = read();
      if (typeof key !== "string") throw new Error(`non-string map key at ${pos}`);
      out[key] = read();
    }
    return out;
  };
  function read(): unknown {
    const b = bytes[take(1)] as number;
    if (b <= 0x7f) return b;
    if (b >= 0xe0) return b - 0x100;
    if (b >= 0x80 && b <= 0x8f) return map(b & 0x0f);
    if (b >= 0x90 && b <= 0x9f) return arr(b & 0x0f);
    if (b >= 0xa0 && b <= 0xbf) return str(b & 0x1f);
    switch (b) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xc4:
        return bytes.slice(take(view.getUint8(take(1))), pos);
      case 0xca:
        return view.getFloat32(take(4));
      case 0xcb:
        return view.getFloat64(take(8));
      case 0xcc:
        return view.getUint8(take(1));
      case 0xcd:
        return view.getUint16(take(2));
      case 0xce:
        return view.getUint32(take(4));
      case 0xcf:
        return view.getBigUint64(take(8));
      case 0xd0:
        return view.getInt8(take(1));
      case 0xd1:
        return view.getInt16(take(2));
      case 0xd2:
        return view.getInt32(take(4));
      case 0xd3:
        return view.getBigInt64(take(8));
      case 0xd9:
        return str(view.getUint8(take(1)));
      case 0xda:
        return str(view.getUint16(take(2)));
      case 0xdb:
        return str(view.getUint32(take(4)));
      case 0xdc:
        return arr(view.getUint16(take(2)));
      case 0xde:
        return map(view.getUint16(take(2)));
      default:
        throw new Error(`type byte 0x${b.toString(16)} at ${pos - 1} is not core MessagePack (or not expected here)`);
    }
  }
  const value = read();
  if (pos !== bytes.length) throw new Error(`${bytes.length - pos} trailing bytes`);
  return value;
}

describe("envelope v1", () => {
  it("round trips an inline payload with Thai text and emoji", () => {
    const bytes = encodeEnvelope(FIXED);
    assert.ok(bytes instanceof Uint8Array);
    assert.equal(bytes[0], 0x01);
    const decoded = decodeEnvelope(bytes);
    assert.deepEqual(decoded, FIXED);
    assert.equal(decoded.payload.kind === "inline" && decoded.payload.text, FIXED_TEXT);
    assert.equal(sha256(FIXED_TEXT), FIXED.text_hash);
    assert.equal(FIXED_TEXT.length, FIXED.char_len);
  });

  it("round trips a file payload, keeping sizes and timestamps beyond 32 bits exact", () => {
    const e = fileEnvelope();
    const decoded = decodeEnvelope(encodeEnvelope(e));
    assert.deepEqual(decoded, e);
    assert.equal(decoded.payload.kind === "file" && decoded.payload.size, 7_340_032_000);
    assert.equal(decoded.ts_ms, 1735689600123);
  });

  it("writes the same bytes whatever the key order, and leaves undefined optional fields out", () => {
    const reordered = Object.fromEntries(Object.entries(FIXED).reverse()) as EnvelopeV1;
    assert.deepEqual(encodeEnvelope(reordered), encodeEnvelope(FIXED));
    const untitled: EnvelopeV1 = { ...FIXED, payload: { kind: "inline", text: "hi", title: undefined } };
    const decoded = decodeEnvelope(encodeEnvelope(untitled));
    assert.deepEqual(decoded.payload, { kind: "inline", text: "hi" });
    assert.equal("title" in decoded.payload, false);
  });

  it("refuses to encode an invalid envelope, naming the field", () => {
    assert.throws(() => encodeEnvelope({ ...FIXED, text_hash: "abc" }), invalid(/field "text_hash"/));
    assert.throws(() => encodeEnvelope({ ...FIXED, id: "" }), invalid(/field "id"/));
    const badFile = { ...fileEnvelope(), payload: { kind: "file", path: "/x", size: -1 } } as EnvelopeV1;
    assert.throws(() => encodeEnvelope(badFile), invalid(/field "payload\.size"/));
  });

  it("rejects corrupt bytes with a clear error", () => {
    const bytes = encodeEnvelope(FIXED);
    assert.throws(
      () => decodeEnvelope(bytes.subarray(0, 40)),
      invalid(/^corrupt envelope \(40 bytes\): truncated MessagePack data$/),
    );
    assert.throws(() => decodeEnvelope(new Uint8Array([...bytes, 0x00])), invalid(/corrupt envelope .*trailing bytes/));
    assert.throws(() => decodeEnvelope(new Uint8Array()), invalid(/corrupt envelope: no bytes/));
    assert.throws(() => decodeEnvelope(new Uint8Array([0x01])), invalid(/corrupt envelope/));
    assert.throws(
      () => decodeEnvelope(new Uint8Array([0x01, 0x93, 0x01, 0x02, 0x03])),
      invalid(/expected a MessagePack map, found an array/),
    );
    // Error messages never quote the payload.
    try {
      decodeEnvelope(new Uint8Array([...bytes, 0xc0]));
      assert.fail("expected a throw");
    } catch (err) {
      assert.ok(err instanceof Error);
      assert.doesNotMatch(err.message, /ภาษาไทย/);
    }
  });

  it("rejects a well-formed map that breaks the schema, naming the field", () => {
    const body = pack({ ...FIXED, lane: "urgent" });
    assert.throws(() => decodeEnvelope(new Uint8Array([0x01, ...body])), invalid(/invalid envelope: field "lane"/));
    const { payload: _payload, ...withoutPayload } = FIXED;
    assert.throws(() => decodeEnvelope(new Uint8Array([0x01, ...pack(withoutPayload)])), invalid(/field "payload"/));
    const badText = pack({ ...FIXED, payload: { kind: "inline", text: 42 } });
    assert.throws(() => decodeEnvelope(new Uint8Array([0x01, ...badText])), invalid(/field "payload\.text"/));
  });

  it("rejects an unknown version byte", () => {
    const bytes = encodeEnvelope(FIXED);
    bytes[0] = 0x02;
    assert.throws(() => decodeEnvelope(bytes), invalid(/^unsupported envelope version 2$/));
    bytes[0] = 0x00;
    assert.throws(() => decodeEnvelope(bytes), invalid(/^unsupported envelope version 0$/));
    // Raw MessagePack without the format byte is caught too (0x8f is a fixmap header).
    assert.throws(() => decodeEnvelope(bytes.subarray(1)), invalid(/^unsupported envelope version 143$/));
  });

  it("decodes a v1 envelope written by an earlier build", () => {
    const e = decodeEnvelope(new Uint8Array(readFileSync(FIXTURE)));
    assert.deepEqual(Object.keys(e), [
      "v",
      "id",
      "source",
      "text_hash",
      "char_len",
      "tags",
      "pii",
      "lane",
      "version",
      "ts_ms",
      "meta",
      "job_id",
      "collection",
      "pipeline",
      "payload",
    ]);
    assert.equal(e.v, 1);
    assert.equal(e.id, "docs/ไทย/guide.md#3");
    assert.equal(e.source, "docs/ไทย/guide.md");
    assert.equal(e.text_hash, "7d224cd57d43ffc7b6653a921f6d6da92b62951b75319cc28d67dcd000ed50ad");
    assert.equal(e.char_len, 50);
    assert.deepEqual(e.tags, ["lang:th", "size:small", "type:text/markdown", "pii:email"]);
    assert.deepEqual(e.pii, { email: 1, phone: 0 });
    assert.equal(e.lane, "high");
    assert.equal(e.version, "auto@da2ec3be1306");
    assert.equal(e.ts_ms, 1735689600123);
    assert.deepEqual(e.meta, {
      origin: "upload",
      attempt: 2,
      score: 0.75,
      flags: [true, false],
      note: null,
      nested: { page: 300, offset: -40000 },
    });
    assert.equal(e.job_id, "job_01JGXQ8Z3K7M");
    assert.equal(e.collection, "handbook");
    assert.equal(e.pipeline, "auto");
    assert.deepEqual(e.payload, { kind: "inline", text: FIXED_TEXT, title: "คู่มือ Guide", media_type: "text/markdown" });
    assert.deepEqual(e, FIXED);
  });

  it("encodes the fixed envelope to the fixture's bytes, 64-bit integers aside", () => {
    // The fixture was written with msgpackr, which tags a positive 64-bit integer int64 (0xd3);
    // this build writes it with @msgpack/msgpack, which tags it uint64 (0xcf). Both are standard
    // MessagePack and both decode to the same envelope; every other byte must match.
    const fixture = readFileSync(FIXTURE);
    const mine = Buffer.from(encodeEnvelope(FIXED));
    assert.equal(mine.length, fixture.length);
    const differing = [...mine.keys()].filter((i) => mine[i] !== fixture[i]);
    assert.deepEqual(
      differing.map((i) => [fixture[i], mine[i]]),
      [[0xd3, 0xcf]],
    );
    assert.deepEqual(decodeEnvelope(mine), decodeEnvelope(fixture));
  });

  it("writes plain MessagePack that a strict core-types decoder reads, with ts_ms as an integer", () => {
    const bytes = readFileSync(FIXTURE);
    assert.equal(bytes[0], 0x01);
    const value = strictDecode(bytes.subarray(1)) as Record<string, unknown>;
    assert.equal(value.ts_ms, 1735689600123n);
    assert.deepEqual({ ...value, ts_ms: Number(value.ts_ms) }, FIXED);
    const file = strictDecode(encodeEnvelope(fileEnvelope()).subarray(1)) as { payload: { size: unknown } };
    assert.equal(file.payload.size, 7_340_032_000n);
  });

  it("turns an envelope into the DocumentRef it stands for", () => {
    const inline = envelopeToRef(FIXED);
    assert.deepEqual(inline, {
      id: FIXED.id,
      source: FIXED.source,
      kind: "inline",
      text: FIXED_TEXT,
      title: "คู่มือ Guide",
      mediaType: "text/markdown",
      meta: FIXED.meta,
    });
    assert.notEqual(inline.meta, FIXED.meta);
    assert.deepEqual(DocumentRefSchema.parse(inline), inline);

    const file = envelopeToRef(fileEnvelope());
    assert.deepEqual(file, {
      id: "reports/2024/annual.pdf",
      source: "/data/in/reports/2024/annual.pdf",
      kind: "file",
      path: "/data/in/reports/2024/annual.pdf",
      mediaType: "application/pdf",
      meta: {},
    });
    assert.deepEqual(DocumentRefSchema.parse(file), file);

    const urlPayload = { kind: "url" as const, url: "https://example.org/papers/a.pdf" };
    const url = envelopeToRef(decodeEnvelope(encodeEnvelope({ ...FIXED, payload: urlPayload })));
    assert.deepEqual(url, { id: FIXED.id, source: FIXED.source, kind: "url", url: urlPayload.url, meta: FIXED.meta });
    assert.deepEqual(DocumentRefSchema.parse(url), url);
    assert.equal(DocumentRefSchema.safeParse({ ...url, url: "file:///etc/passwd" }).success, false);

    const bare = envelopeToRef({ ...FIXED, payload: { kind: "inline", text: "x" } });
    assert.equal("title" in bare, false);
    assert.equal("mediaType" in bare, false);
  });
});
