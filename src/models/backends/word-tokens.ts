/**
 * Lowercase word tokens for the hash embedder. Word boundaries follow Unicode UAX #29 as
 * implemented by `Intl.Segmenter` (so Thai, Japanese and other unspaced scripts split into
 * words); a token must contain a letter or a digit. Pure-ASCII texts take a hand-written scanner
 * that applies the same UAX #29 rules restricted to ASCII (WB5–WB13b) and is several times
 * faster; `hash-embedder.test.ts` checks on random ASCII strings that both paths agree.
 */

let segmenter: Intl.Segmenter | undefined;
const HAS_WORD_CHAR = /[\p{L}\p{N}]/u;
const NON_ASCII = /[^\u0000-\u007f]/;

/**
 * Splits `text` into lowercase word tokens.
 *
 * @example
 * wordTokens("Don't panic: ภาษาไทย"); // ["don't", "panic", "ภาษา", "ไทย"]
 */
export function wordTokens(text: string): string[] {
  return NON_ASCII.test(text) ? segmenterTokens(text) : asciiTokens(text.toLowerCase());
}

/**
 * The `Intl.Segmenter` path, exported so tests can compare it with the ASCII scanner.
 *
 * @example
 * segmenterTokens("a.b c"); // ["a.b", "c"]
 */
export function segmenterTokens(text: string): string[] {
  segmenter ??= new Intl.Segmenter("und", { granularity: "word" });
  const out: string[] = [];
  for (const s of segmenter.segment(text.normalize("NFKC").toLowerCase())) {
    if (s.isWordLike === true && HAS_WORD_CHAR.test(s.segment)) out.push(s.segment);
  }
  return out;
}

// Character classes of UAX #29 restricted to ASCII.
const OTHER = 0;
const LETTER = 1; // ALetter
const DIGIT = 2; // Numeric
const UNDERSCORE = 3; // ExtendNumLet
const MID_LETTER = 4; // ':' (MidLetter)
const MID_NUM_LET = 5; // '.' and "'" (MidNumLet, Single_Quote)
const MID_NUM = 6; // ',' and ';' (MidNum)

const CLASS = new Uint8Array(128);
for (let c = 0; c < 128; c++) {
  const ch = String.fromCharCode(c);
  if (/[a-zA-Z]/.test(ch)) CLASS[c] = LETTER;
  else if (/[0-9]/.test(ch)) CLASS[c] = DIGIT;
  else if (ch === "_") CLASS[c] = UNDERSCORE;
  else if (ch === ":") CLASS[c] = MID_LETTER;
  else if (ch === "." || ch === "'") CLASS[c] = MID_NUM_LET;
  else if (ch === "," || ch === ";") CLASS[c] = MID_NUM;
  else CLASS[c] = OTHER;
}

function isWordClass(k: number): boolean {
  return k === LETTER || k === DIGIT || k === UNDERSCORE;
}

/**
 * The ASCII scanner (input must be ASCII; call with lowercase text to get lowercase tokens).
 *
 * @example
 * asciiTokens("1,000.5 e-mail a_b"); // ["1,000.5", "e", "mail", "a_b"]
 */
export function asciiTokens(text: string): string[] {
  const out: string[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isWordClass(CLASS[text.charCodeAt(i)] ?? OTHER)) {
      i++;
      continue;
    }
    const start = i;
    let hasAlnum = false;
    let prev = OTHER;
    while (i < n) {
      const k = CLASS[text.charCodeAt(i)] ?? OTHER;
      if (isWordClass(k)) {
        hasAlnum ||= k !== UNDERSCORE;
        prev = k;
        i++;
        continue;
      }
      // WB6/7 (letter · mid · letter) and WB11/12 (digit · mid · digit)
      const next = i + 1 < n ? (CLASS[text.charCodeAt(i + 1)] ?? OTHER) : OTHER;
      const joinsLetters = prev === LETTER && next === LETTER && (k === MID_LETTER || k === MID_NUM_LET);
      const joinsDigits = prev === DIGIT && next === DIGIT && (k === MID_NUM || k === MID_NUM_LET);
      if (!joinsLetters && !joinsDigits) break;
      i++;
    }
    if (hasAlnum) out.push(text.slice(start, i));
  }
  return out;
}
