import { mediaTypeForPath } from "../text/detect-media-type.ts";
import { detectLanguage } from "../text/detect-script.ts";

/**
 * What the gate knows about a document before accepting it.
 *
 * @example
 * const input: ClassifyInput = { path: "reports/annual.pdf", bytes: 2_400_000 };
 */
export interface ClassifyInput {
  /** The decoded text, when the document is inline (or already read). */
  text?: string;
  /** Size in bytes; when absent, the UTF-8 length of `text`. */
  bytes?: number;
  /** Declared media type (parameters such as `; charset=utf-8` are dropped). */
  mediaType?: string;
  /** File path or name, for the extension when no media type is declared. */
  path?: string;
}

/**
 * How the gate sees a document: language, size class, type and personal data it holds.
 *
 * @example
 * const { tags }: Classification = classify({ text: "สวัสดีครับ" }); // ["lang:th", "size:small", "type:text/plain"]
 */
export interface Classification {
  /** BCP-47 tag from the dominant script, or "und" (always "und" without text). */
  language: string;
  sizeClass: "small" | "medium" | "large";
  contentType: string;
  /** How many e-mail addresses and phone numbers the text contains. */
  pii: { email: number; phone: number };
  tags: string[];
}

const SMALL_LIMIT = 16 * 1024;
const MEDIUM_LIMIT = 1024 * 1024;
const UNKNOWN_TYPE = "application/octet-stream";

/**
 * E-mail addresses, RFC 5322 "lite": a dot-atom local part, then a domain of LDH labels ending in an
 * alphabetic TLD. Not preceded by a local-part character, not followed by more domain.
 */
const EMAIL =
  /(?<![\w.!#$%&'*+/=?^`{|}~-])[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*@(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}(?![\w-]|\.[a-z0-9])/gi;

/**
 * Candidate phone numbers: an optional `+`, then digits, single separators (space, no-break space, dot, hyphen)
 * between digits, and parenthesised groups of 1–5 digits. Every step consumes one character of a distinct kind,
 * so matching is linear. Candidates are then checked by `isPhone`.
 */
const PHONE_CANDIDATE =
  /(?<![\w+])\+?(?:\(\d{1,5}\)|\d)(?:\d|[ .\u00a0-](?=[\d(])|\((?=\d{1,5}\))|\)(?=[ .\u00a0-]?\d))*/g;

/** US/Canada national format with one consistent separator: `415-555-0132`, `1.800.555.0199`. */
const NANP = /^(?:1([-.]))?\d{3}([-.])\d{3}\2\d{4}$/;

/** Arabic-Indic, extended Arabic-Indic and Thai digits, mapped to ASCII before matching phone numbers. */
const NATIVE_DIGITS = /[\u0660-\u0669\u06f0-\u06f9\u0e50-\u0e59]/g;

function toAsciiDigits(text: string): string {
  return text.replace(NATIVE_DIGITS, (d) => {
    const c = d.charCodeAt(0);
    const zero = c >= 0x0e50 ? 0x0e50 : c >= 0x06f0 ? 0x06f0 : 0x0660;
    return String(c - zero);
  });
}

/**
 * Whether a candidate looks like a phone number rather than a year, an amount, an id or an ISBN. It needs
 * 9–15 digits and one of: a leading `+` (international); a leading parenthesised area code followed by
 * separated groups; or a national number with separators — NANP-style, or trunk-prefixed (`0…`) groups of
 * at least two digits joined by one kind of separator.
 */
function isPhone(candidate: string): boolean {
  const digits = candidate.replace(/\D/g, "");
  if (digits.length < 9 || digits.length > 15) return false;
  if (candidate.startsWith("+")) return true;
  const groups = candidate.split(/[^\d]+/).filter((g) => g !== "");
  if (candidate.startsWith("(")) {
    // "(415) 555-0132", "(02) 123 4567", "(030) 12345678"; not "(2024) 1500000".
    const area = groups[0] ?? "";
    const rest = groups.slice(1);
    if (rest.length === 0 || rest.some((g) => g.length < 2 || g.length > 8)) return false;
    return area.startsWith("0") || rest.every((g) => g.length <= 5);
  }
  if (candidate.includes("(")) return false;
  if (NANP.test(candidate)) return true;
  const separators = new Set(candidate.replace(/\d/g, ""));
  if (separators.size !== 1 || groups.length < 2) return false;
  // "020 7946 0958", "02-123-4567", "06 12 34 56 78"; not "0-306-40615-2" (ISBN-10) or "1 500 000 000".
  return candidate.startsWith("0") && groups.every((g) => g.length >= 2 && g.length <= 8);
}

function countPhones(text: string): number {
  let n = 0;
  const ascii = toAsciiDigits(text);
  for (const m of ascii.matchAll(PHONE_CANDIDATE)) {
    const after = ascii.charAt(m.index + m[0].length);
    // "0958x12" or "555-0132abc" is an identifier, not a number on its own.
    if (after !== "" && /[\p{L}\p{N}_]/u.test(after)) continue;
    if (isPhone(m[0])) n++;
  }
  return n;
}

function countEmails(text: string): number {
  let n = 0;
  for (const _ of text.matchAll(EMAIL)) n++;
  return n;
}

function contentTypeOf(input: ClassifyInput): string {
  const declared = input.mediaType?.split(";")[0]?.trim().toLowerCase();
  if (declared) return declared;
  if (input.path !== undefined) return mediaTypeForPath(input.path) ?? UNKNOWN_TYPE;
  // Inline documents are plain text unless said otherwise (see DocumentRef.mediaType).
  return input.text !== undefined ? "text/plain" : UNKNOWN_TYPE;
}

function sizeClassOf(size: number): Classification["sizeClass"] {
  if (size < SMALL_LIMIT) return "small";
  if (size < MEDIUM_LIMIT) return "medium";
  return "large";
}

/**
 * Classifies a document at the ingest gate: language (from the text's dominant script), size class
 * (< 16 KiB small, < 1 MiB medium, else large), content type (declared, else from the path's extension),
 * counts of e-mail addresses and phone numbers, and the tags derived from them.
 *
 * @example
 * classify({ text: "Write to ops@example.com or call +1 (415) 555-0132.", path: "note.md" });
 * // { language: "en", sizeClass: "small", contentType: "text/markdown", pii: { email: 1, phone: 1 },
 * //   tags: ["lang:en", "size:small", "type:text/markdown", "pii:email", "pii:phone"] }
 */
export function classify(input: ClassifyInput): Classification {
  const text = input.text;
  const language = text !== undefined ? detectLanguage(text) : "und";
  const size = input.bytes ?? (text !== undefined ? Buffer.byteLength(text, "utf8") : 0);
  const sizeClass = sizeClassOf(size);
  const contentType = contentTypeOf(input);
  const pii = text !== undefined ? { email: countEmails(text), phone: countPhones(text) } : { email: 0, phone: 0 };
  const tags = [
    `lang:${language}`,
    `size:${sizeClass}`,
    `type:${contentType}`,
    ...(pii.email ? ["pii:email"] : []),
    ...(pii.phone ? ["pii:phone"] : []),
  ];
  return { language, sizeClass, contentType, pii, tags };
}
