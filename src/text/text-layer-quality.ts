/**
 * Whether a PDF page's text layer can be trusted, or the page should be read by OCR instead.
 */

/** Why a page needs OCR, or `ok` when its text layer is usable. */
export type TextLayerVerdict = "ok" | "no-text" | "broken";

export interface TextLayerQuality {
  verdict: TextLayerVerdict;
  /** Letters (and combining marks) on the page, page numbers left out. */
  letters: number;
  /** Whitespace-separated words. */
  words: number;
  /** Words that no language writes: see {@link assessTextLayer}. */
  garbledWords: number;
  /** U+FFFD, private-use and control characters (tab and line breaks aside). */
  suspectChars: number;
}

/** Fewer letters than this (page numbers aside) is a page without text. */
const MIN_LETTERS = 3;
/** Broken when this many words are garbled, or when one is and they make up this share of the words. */
const MIN_GARBLED_WORDS = 2;
const MAX_GARBLED_SHARE = 0.05;
/** Broken when more than this share of the non-space characters are suspect (and at least 2 are). */
const MAX_SUSPECT_SHARE = 0.01;

const PAGE_NUMBER = /^[([{-]*(?:\d+|[ivxlcdm]+|[IVXLCDM]+)[)\]}.-]*$/u;
const LETTER = /[\p{L}\p{M}]/gu;
const SUSPECT = /[\uFFFD\p{Co}\p{Cc}]/gu;
/** Latin-1 signs (¡ … ¿, including ª º µ ¹ which Unicode calls letters or digits). */
const LATIN1_SIGN = /[\u00A1-\u00BF]/u;
/** Latin-1 letters, × and ÷ aside. */
const LATIN1_LETTER = /[\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u00FF]/u;
const LETTERISH = /[\p{L}\p{M}\u00A1-\u00FF]/u;
const UPPER = /\p{Lu}/u;
const LOWER = /\p{Ll}/u;
const SCRIPTS: ReadonlyArray<[string, RegExp]> = [
  ["Latin", /\p{Script=Latin}/u],
  ["Greek", /\p{Script=Greek}/u],
  ["Cyrillic", /\p{Script=Cyrillic}/u],
  ["Thai", /\p{Script=Thai}/u],
  ["Lao", /\p{Script=Lao}/u],
  ["Arabic", /\p{Script=Arabic}/u],
  ["Hebrew", /\p{Script=Hebrew}/u],
  ["Devanagari", /\p{Script=Devanagari}/u],
  ["Han", /\p{Script=Han}/u],
];

function scriptOf(ch: string): string | undefined {
  if (!/[\p{L}\p{M}]/u.test(ch) || /\p{Script=Inherited}/u.test(ch)) return undefined;
  for (const [name, re] of SCRIPTS) if (re.test(ch)) return name;
  return "Other";
}

/**
 * A word no language writes, as single-byte text read in the wrong code page produces it (Thai
 * TIS-620 read as Latin-1 gives `©ºÑº` for ฉบับ), or a font with a wrong character map mixes in:
 * - a Latin-1 sign (¡ … ¿, ª, º, µ, ·) between two letters (`©ºÑº`, `´ÃÃª¹Õ`); Catalan `l·l` is allowed;
 * - a lowercase Latin-1 letter followed by an uppercase one (`àÃ`; ß has no case and is skipped);
 * - two adjacent non-ASCII letters of different scripts (`ฉบÑบ`, `μÒ`). ASCII letters next to Thai
 *   (`ไฟล์PDF`) and Greek next to ASCII (`μm`) are normal and not counted;
 * - two or more letters, all of them Latin-1 (`òø`, Thai digits ๒๘ read as Latin-1): French `à`
 *   and `où` have one, or an ASCII letter.
 */
function isGarbledWord(word: string): boolean {
  const chars = Array.from(word);
  const letters = chars.filter((c) => /\p{L}/u.test(c));
  if (letters.length >= 2 && letters.every((c) => LATIN1_LETTER.test(c))) return true;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const prev = chars[i - 1];
    const next = chars[i + 1];
    if (
      LATIN1_SIGN.test(ch) &&
      prev !== undefined &&
      next !== undefined &&
      LETTERISH.test(prev) &&
      LETTERISH.test(next) &&
      !(ch === "\u00B7" && /l/i.test(prev) && /l/i.test(next))
    )
      return true;
    if (next === undefined) continue;
    if (
      LATIN1_LETTER.test(ch) &&
      LATIN1_LETTER.test(next) &&
      LOWER.test(ch) &&
      UPPER.test(next) &&
      ch !== "\u00DF" &&
      ch !== "\u00FF"
    )
      return true;
    if (ch > "\u007F" && next > "\u007F") {
      const a = scriptOf(ch);
      const b = scriptOf(next);
      if (a !== undefined && b !== undefined && a !== b) return true;
    }
  }
  return false;
}

/**
 * Judges a page's text layer. A page needs OCR when it has no text (fewer than 3 letters once page
 * numbers such as `12` or `xiv` are left out) or its text is broken: at least 2 garbled words, or
 * one making up 5% or more of the words (a garbled word is one no language writes: a
 * Latin-1 sign between letters, a lowercase Latin-1 letter before an uppercase one, or adjacent
 * non-ASCII letters of two scripts, as in ฉบÑบ), or more than 1% suspect characters (U+FFFD,
 * private use, controls; at least 2). French or German accents, and Thai with English words in
 * it, pass.
 *
 * @example
 * assessTextLayer("©ºÑºäÁè¤èÍÂÂèÍ ËÃ×Í L ATEX").verdict; // "broken"
 * assessTextLayer("L'été dernier à Orléans, la Größe").verdict; // "ok"
 * assessTextLayer("  12 ").verdict; // "no-text"
 */
export function assessTextLayer(text: string): TextLayerQuality {
  const words = text.split(/\s+/u).filter((w) => w !== "");
  const letters = words.filter((w) => !PAGE_NUMBER.test(w)).reduce((n, w) => n + (w.match(LETTER)?.length ?? 0), 0);
  const garbledWords = words.filter(isGarbledWord).length;
  const suspectChars = text.replace(/[\t\n\r]/g, "").match(SUSPECT)?.length ?? 0;
  const nonSpace = words.reduce((n, w) => n + w.length, 0);
  let verdict: TextLayerVerdict = "ok";
  if (letters < MIN_LETTERS) verdict = "no-text";
  else if (
    garbledWords >= MIN_GARBLED_WORDS ||
    (garbledWords > 0 && garbledWords / words.length >= MAX_GARBLED_SHARE) ||
    (suspectChars >= 2 && suspectChars / nonSpace > MAX_SUSPECT_SHARE)
  )
    verdict = "broken";
  return { verdict, letters, words: words.length, garbledWords, suspectChars };
}

/**
 * True when the page should be OCR'd: {@link assessTextLayer} finds no text or broken text.
 *
 * @example
 * pages.filter((p) => needsOcr(p.text));
 */
export function needsOcr(text: string): boolean {
  return assessTextLayer(text).verdict !== "ok";
}
