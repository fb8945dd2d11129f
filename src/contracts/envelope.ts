import { decode, encode } from "@msgpack/msgpack";
import { z } from "zod";
import type { DocumentRef } from "./document.ts";
import { SluiceError } from "./errors.ts";

/** Leading byte of every encoded envelope: the wire format version, before the MessagePack map. */
const FORMAT_V1 = 0x01;

/**
 * What the envelope carries: the text itself, a reference to a file (hashed, not yet read for parsing), or an
 * http(s) address that the pipeline's `source.download` stage fetches.
 */
const PayloadSchema = z.discriminatedUnion("kind", [
  z.object({
    kind: z.literal("inline"),
    text: z.string(),
    title: z.string().optional(),
    media_type: z.string().optional(),
  }),
  z.object({
    kind: z.literal("file"),
    path: z.string().min(1),
    media_type: z.string().optional(),
    size: z.number().int().nonnegative(),
  }),
  z.object({
    kind: z.literal("url"),
    url: z.string().min(1),
    media_type: z.string().optional(),
  }),
]);

/**
 * Version 1 of the envelope every accepted document becomes before it is spooled: who it is, what it holds
 * (inline text or a file reference), how the gate classified it and which job, collection and pipeline it
 * belongs to. Field names are snake_case because the bytes are read by other languages too.
 *
 * @example
 * const envelope = EnvelopeV1Schema.parse(JSON.parse(line));
 */
export const EnvelopeV1Schema = z.object({
  v: z.literal(1),
  /** Document id within the collection (same rules as `DocumentRef.id`). */
  id: z.string().min(1).max(512),
  source: z.string(),
  /** sha256 (lower-case hex) of the inline text, of the raw bytes of a file payload, or of a url payload's URL. */
  text_hash: z.string().regex(/^[0-9a-f]{64}$/, "expected 64 lower-case hex characters (sha256)"),
  /** Length of the payload text as `string.length` counts it (UTF-16 code units). */
  char_len: z.number().int().nonnegative(),
  tags: z.array(z.string()),
  pii: z.object({ email: z.number().int().nonnegative(), phone: z.number().int().nonnegative() }),
  lane: z.enum(["high", "normal", "bulk"]),
  /** Pipeline version, e.g. `auto@3f2a9c1d0b7e` (pipeline name and the first 12 hex of its YAML's sha256). */
  version: z.string().min(1),
  /** When the gate accepted the document, in ms since the epoch. */
  ts_ms: z.number().int(),
  meta: z.record(z.string(), z.unknown()),
  job_id: z.string(),
  collection: z.string(),
  pipeline: z.string(),
  payload: PayloadSchema,
});

/**
 * A decoded, validated version 1 envelope.
 *
 * @example
 * const lane: EnvelopeV1["lane"] = "bulk";
 */
export type EnvelopeV1 = z.infer<typeof EnvelopeV1Schema>;

// Plain MessagePack only: no record/structure extension, no msgpackr-specific types, preferred (smallest)
// map headers, `undefined` as nil. Any conforming decoder reads these bytes.
// @msgpack/msgpack: pure TypeScript, standard MessagePack only (no native add-on to build).
const pack = (value: unknown): Uint8Array => encode(value, { useBigInt64: true, ignoreUndefined: true });
const unpack = (bytes: Uint8Array): unknown => decode(bytes);

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/**
 * Prepares a value for the wire: drops `undefined` object members (absent, not nil, so optional fields stay
 * optional) and turns integers beyond 32 bits into BigInt, which is written as a 64-bit integer rather than float64
 * (so `ts_ms` is an integer for every decoder). Anything that is not a plain object or array is left as is.
 */
function toWire(value: unknown): unknown {
  if (typeof value === "number") {
    const outside32 = value > 0xffffffff || value < -0x80000000;
    return outside32 && Number.isSafeInteger(value) ? BigInt(value) : value;
  }
  if (Array.isArray(value)) return value.map(toWire);
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, member] of Object.entries(value)) if (member !== undefined) out[key] = toWire(member);
    return out;
  }
  return value;
}

/** A short reason for an unpack failure; the decoder's own messages may quote the (possibly sensitive) data. */
function unpackFailure(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  if (/^Extra \d+ of \d+ byte/.test(message)) return "trailing bytes after the MessagePack map";
  if (/insufficient data|unexpected end|out of bounds|outside the bounds/i.test(message))
    return "truncated MessagePack data";
  return message.length > 120 ? `${message.slice(0, 120)}…` : message;
}

function wireKind(value: unknown): string {
  if (value === null) return "nil";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "binary data";
  return typeof value === "object" ? "a non-map value" : `a ${typeof value}`;
}

function describeIssues(error: z.ZodError): { message: string; fields: string[] } {
  const fields = error.issues.map((i) => (i.path.length ? i.path.map(String).join(".") : "(root)"));
  const first = error.issues[0];
  const head = first ? `field "${fields[0]}": ${first.message}` : "invalid";
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : "";
  return { message: `${head}${more}`, fields };
}

function validate(value: unknown, what: string): EnvelopeV1 {
  const parsed = EnvelopeV1Schema.safeParse(value);
  if (!parsed.success) {
    const { message, fields } = describeIssues(parsed.error);
    throw new SluiceError("VALIDATION_FAILED", `${what}: ${message}`, { details: { fields } });
  }
  return parsed.data;
}

/**
 * Validates an envelope and encodes it: a format byte (`0x01`) followed by one standard MessagePack map.
 * Keys are written in schema order, so equal envelopes give equal bytes.
 *
 * @throws SluiceError `VALIDATION_FAILED` naming the first bad field
 *
 * @example
 * const bytes = encodeEnvelope(envelope);
 * bytes[0]; // 1
 */
export function encodeEnvelope(e: EnvelopeV1): Uint8Array {
  const valid = validate(e, "invalid envelope");
  const body = pack(toWire(valid));
  const out = new Uint8Array(body.length + 1);
  out[0] = FORMAT_V1;
  out.set(body, 1);
  return out;
}

/**
 * Decodes and validates bytes written by `encodeEnvelope` (by this or an earlier build).
 *
 * @throws SluiceError `VALIDATION_FAILED`: empty input, an unknown format byte ("unsupported envelope version N"),
 * bytes that are not one complete MessagePack value, or a map that fails the schema (the message names the field)
 *
 * @example
 * const envelope = decodeEnvelope(await readFile(spoolPath));
 * envelope.payload.kind; // "inline" | "file" | "url"
 */
export function decodeEnvelope(bytes: Uint8Array): EnvelopeV1 {
  if (bytes.length === 0) throw new SluiceError("VALIDATION_FAILED", "corrupt envelope: no bytes");
  const version = bytes[0] as number;
  if (version !== FORMAT_V1) {
    throw new SluiceError("VALIDATION_FAILED", `unsupported envelope version ${version}`, { details: { version } });
  }
  const corrupt = (reason: string, cause?: unknown): SluiceError =>
    new SluiceError("VALIDATION_FAILED", `corrupt envelope (${bytes.length} bytes): ${reason}`, {
      cause,
      details: { length: bytes.length },
    });
  let value: unknown;
  try {
    value = unpack(bytes.subarray(1));
  } catch (err) {
    throw corrupt(unpackFailure(err), err);
  }
  if (!isPlainObject(value)) throw corrupt(`expected a MessagePack map, found ${wireKind(value)}`);
  return validate(value, "invalid envelope");
}

/**
 * The `DocumentRef` an envelope stands for: inline payloads carry their text, title and media type; file
 * payloads their path and media type; url payloads their URL and media type. `id`, `source` and (a copy of)
 * `meta` are carried over.
 *
 * @example
 * const ref = envelopeToRef(decodeEnvelope(bytes));
 * if (ref.kind === "file") await readFile(ref.path!);
 */
export function envelopeToRef(e: EnvelopeV1): DocumentRef {
  const base = { id: e.id, source: e.source, meta: { ...e.meta } };
  const p = e.payload;
  if (p.kind === "inline") {
    return {
      ...base,
      kind: "inline",
      text: p.text,
      ...(p.title !== undefined ? { title: p.title } : {}),
      ...(p.media_type !== undefined ? { mediaType: p.media_type } : {}),
    };
  }
  const mediaType = p.media_type !== undefined ? { mediaType: p.media_type } : {};
  if (p.kind === "url") return { ...base, kind: "url", url: p.url, ...mediaType };
  return { ...base, kind: "file", path: p.path, ...mediaType };
}
