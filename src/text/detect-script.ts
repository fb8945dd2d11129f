/**
 * A cheap language guess from the dominant script of a text sample: enough to pick segmenter
 * locales and OCR languages. Returns a BCP-47 tag, or "und" when it cannot tell.
 *
 * @example
 * detectLanguage("ภาษาไทย") // "th"
 */
export function detectLanguage(text: string): string {
  const sample = text.slice(0, 4000);
  const counts = { th: 0, ar: 0, latin: 0, cjk: 0, cyr: 0 };
  for (const ch of sample) {
    const c = ch.codePointAt(0)!;
    if (c >= 0x0e00 && c <= 0x0e7f) counts.th++;
    else if (c >= 0x0600 && c <= 0x06ff) counts.ar++;
    else if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0xc0 && c <= 0x24f)) counts.latin++;
    else if (c >= 0x4e00 && c <= 0x9fff) counts.cjk++;
    else if (c >= 0x0400 && c <= 0x04ff) counts.cyr++;
  }
  const [best, n] = Object.entries(counts).sort((a, b) => b[1] - a[1])[0]!;
  if (n === 0) return "und";
  return { th: "th", ar: "ar", latin: "en", cjk: "zh", cyr: "ru" }[best] ?? "und";
}
