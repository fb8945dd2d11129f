/**
 * The text analyzer shared by indexing and querying, so both sides see the same terms:
 * NFKC, lowercase, word tokens, a small English stop list. Scripts written without spaces
 * (Thai, Lao, Khmer, Myanmar, CJK) go through `Intl.Segmenter`'s dictionary word breaking;
 * everything else takes a fast regular-expression path. Arabic diacritics and tatweel are
 * removed so vocalised and plain spellings match.
 *
 * @example
 * analyze("How do I resume a failed job?") // ["how", "do", "i", "resume", "failed", "job"]
 */
export const ENGLISH_STOP_WORDS: ReadonlySet<string> = new Set([
  "a",
  "an",
  "and",
  "are",
  "as",
  "at",
  "be",
  "but",
  "by",
  "for",
  "if",
  "in",
  "into",
  "is",
  "it",
  "no",
  "not",
  "of",
  "on",
  "or",
  "such",
  "that",
  "the",
  "their",
  "then",
  "there",
  "these",
  "they",
  "this",
  "to",
  "was",
  "will",
  "with",
]);

const NEEDS_SEGMENTER =
  /[\u0E00-\u0EFF\u1000-\u109F\u1780-\u17FF\u3040-\u30FF\u3400-\u4DBF\u4E00-\u9FFF\uAC00-\uD7AF]/u;
const WORD = /[\p{L}\p{N}\p{M}]+/gu;
const ARABIC_MARKS = /[\u064B-\u065F\u0670\u0640]/gu;
const segmenter = new Intl.Segmenter("und", { granularity: "word" });

export interface AnalyzeOptions {
  /** Drop English stop words (default true). */
  stopWords?: boolean;
}

export function analyze(text: string, options: AnalyzeOptions = {}): string[] {
  const dropStop = options.stopWords ?? true;
  let normal = text.normalize("NFKC").toLowerCase();
  if (/[\u0600-\u06FF]/u.test(normal)) normal = normal.replace(ARABIC_MARKS, "");
  const tokens: string[] = [];
  const push = (token: string) => {
    if (!(dropStop && ENGLISH_STOP_WORDS.has(token))) tokens.push(token);
  };
  if (NEEDS_SEGMENTER.test(normal)) {
    for (const s of segmenter.segment(normal)) if (s.isWordLike) push(s.segment);
  } else {
    for (const m of normal.matchAll(WORD)) push(m[0]);
  }
  return tokens;
}

/** Term frequencies of a token list. */
export function termFrequencies(tokens: readonly string[]): Map<string, number> {
  const tf = new Map<string, number>();
  for (const t of tokens) tf.set(t, (tf.get(t) ?? 0) + 1);
  return tf;
}
