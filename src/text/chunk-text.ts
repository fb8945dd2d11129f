export interface TextSpan {
  text: string;
  start: number;
  end: number;
}

export interface ChunkTextOptions {
  /** Target chunk size in characters. */
  size: number;
  /** Characters of trailing context repeated at the start of the next chunk (whole sentences). */
  overlap: number;
  /** Locale for sentence and word breaking (e.g. "th"); "und" works for most text. */
  locale?: string;
}

const segmenters = new Map<string, { sentence: Intl.Segmenter; word: Intl.Segmenter }>();
function segmentersFor(locale: string) {
  let s = segmenters.get(locale);
  if (!s) {
    s = {
      sentence: new Intl.Segmenter(locale, { granularity: "sentence" }),
      word: new Intl.Segmenter(locale, { granularity: "word" }),
    };
    segmenters.set(locale, s);
  }
  return s;
}

/** Sentences with their offsets; a sentence longer than `max` is cut at word boundaries. */
export function splitSentences(text: string, max: number, locale = "und"): TextSpan[] {
  const { sentence, word } = segmentersFor(locale);
  const out: TextSpan[] = [];
  // ICU ends a sentence at every line break, but most text is hard-wrapped: segment a copy in
  // which a single newline is a space (same length, so offsets still point into `text`), and
  // keep blank lines as paragraph breaks.
  const probe = text.replace(/([^\n])\n(?!\n)/g, "$1 ");
  for (const s of sentence.segment(probe)) {
    const start = s.index;
    const end = start + s.segment.length;
    if (s.segment.length <= max) {
      out.push({ text: text.slice(start, end), start, end });
      continue;
    }
    // Thai and other unspaced scripts often give "sentences" of a whole paragraph: cut them
    // at word boundaries so no word is ever split in two.
    let pieceStart = start;
    let lastBoundary = start;
    for (const w of word.segment(text.slice(start, end))) {
      const wEnd = start + w.index + w.segment.length;
      if (wEnd - pieceStart > max && lastBoundary > pieceStart) {
        out.push({ text: text.slice(pieceStart, lastBoundary), start: pieceStart, end: lastBoundary });
        pieceStart = lastBoundary;
      }
      lastBoundary = wEnd;
    }
    if (end > pieceStart) out.push({ text: text.slice(pieceStart, end), start: pieceStart, end });
  }
  return out;
}

/**
 * Packs sentences into chunks of about `size` characters, never splitting a sentence unless
 * it alone is longer than `size` (then at a word boundary), and carrying whole trailing
 * sentences up to `overlap` characters into the next chunk. Offsets point into `text`.
 *
 * @example
 * chunkText(doc.text, { size: 1000, overlap: 150, locale: "th" });
 */
export function chunkText(text: string, options: ChunkTextOptions): TextSpan[] {
  const { size, overlap } = options;
  const sentences = splitSentences(text, size, options.locale ?? "und");
  const chunks: TextSpan[] = [];
  let current: TextSpan[] = [];
  let length = 0;
  const flush = () => {
    if (current.length === 0) return;
    const first = current[0]!;
    const last = current[current.length - 1]!;
    const raw = text.slice(first.start, last.end);
    const lead = raw.length - raw.trimStart().length;
    const trimmed = raw.trim();
    if (trimmed) chunks.push({ text: trimmed, start: first.start + lead, end: first.start + lead + trimmed.length });
  };
  for (const s of sentences) {
    if (length + s.text.length > size && length > 0) {
      flush();
      // Keep whole sentences from the end of the chunk as overlap, never more than `overlap`.
      const carried: TextSpan[] = [];
      let carriedLength = 0;
      for (let i = current.length - 1; i >= 1; i--) {
        const c = current[i]!;
        if (carriedLength + c.text.length > overlap) break;
        carried.unshift(c);
        carriedLength += c.text.length;
      }
      current = carried;
      length = carriedLength;
    }
    current.push(s);
    length += s.text.length;
  }
  flush();
  return chunks;
}
