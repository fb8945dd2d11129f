/**
 * Character error rate (CER), the usual OCR accuracy measure: the edit distance between what a
 * page says and what the OCR read, per character of the page.
 */

// Tesseract writes SARA AM (U+0E33) as NIKHAHIT + SARA AA (U+0E4D U+0E32), with any tone mark
// in between (น้ำ comes back as น ้ ํ า or น ํ ้ า). NFC leaves that alone (U+0E33 only has a
// compatibility decomposition), so it is folded here; the OCR backend applies the same fix.
const SPLIT_SARA_AM = /\u0E4D([\u0E48-\u0E4B]?)\u0E32/g;

// Whitespace plus the invisible word-break characters Thai text uses in place of spaces.
const WHITESPACE = /[\s\u200B-\u200D\u2060\uFEFF]+/gu;

/**
 * The form both sides are compared in: NFC, SARA AM written as one code point (U+0E33, whatever
 * tone mark sat between its halves moved in front of it), and every whitespace character removed
 * (`\s`, which covers Unicode spaces and line breaks, plus zero-width space, zero-width
 * (non-)joiner, word joiner and BOM). Whitespace is dropped rather than collapsed because Thai
 * writes no spaces between words and OCR engines disagree on where to put them; the price is that
 * a missing or extra space in Latin text is not counted either. Case and punctuation are kept.
 *
 * @example
 * normalizeForCer("น\u0E49\u0E4D\u0E32 ใส\n") // "น\u0E49\u0E33ใส"
 */
export function normalizeForCer(text: string): string {
  return text.normalize("NFC").replace(SPLIT_SARA_AM, "$1\u0E33").replace(WHITESPACE, "");
}

/**
 * Levenshtein distance (insertions, deletions and substitutions all cost 1) between the two texts
 * after {@link normalizeForCer}, counted in Unicode code points (so a Thai vowel or tone mark is
 * one character, and an astral character is not two), divided by the reference's length. 0 is a
 * perfect read; it can exceed 1 when the hypothesis has many extra characters. An empty reference
 * gives 0 for an empty hypothesis and `Infinity` otherwise.
 *
 * @param reference what the page really says
 * @param hypothesis what the OCR engine read
 *
 * @example
 * charErrorRate("The cat sat", "The bat sat") // 1 / 9 (spaces do not count)
 * charErrorRate("กรุงเทพ", "กรุง เทพ")       // 0
 */
export function charErrorRate(reference: string, hypothesis: string): number {
  const ref = Array.from(normalizeForCer(reference));
  const hyp = Array.from(normalizeForCer(hypothesis));
  if (ref.length === 0) return hyp.length === 0 ? 0 : Infinity;
  return levenshtein(ref, hyp) / ref.length;
}

/** Classic two-row dynamic programme: O(|a|·|b|) time, O(|b|) memory. */
function levenshtein(a: readonly string[], b: readonly string[]): number {
  let previous = Uint32Array.from({ length: b.length + 1 }, (_, j) => j);
  let current = new Uint32Array(b.length + 1);
  for (let i = 1; i <= a.length; i++) {
    current[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution);
    }
    [previous, current] = [current, previous];
  }
  return previous[b.length]!;
}
