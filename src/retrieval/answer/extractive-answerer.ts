import { analyze } from "../../text/analyzer.ts";
import { splitSentences } from "../../text/chunk-text.ts";
import type { RetrievedChunk } from "../retriever.ts";
import { citationFor, NO_ANSWER, type Answer, type Answerer, type Citation } from "./answer.ts";

interface Candidate {
  hitIndex: number;
  position: number;
  text: string;
  score: number;
}

/**
 * Answers with sentences taken verbatim from the top passages, each followed by its citation
 * marker. Sentences are scored by idf-weighted overlap with the question (idf over the
 * candidate sentences), with a small preference for higher-ranked passages. No model needed.
 *
 * @example
 * const answer = await new ExtractiveAnswerer({ sentences: 3 }).answer("how do I resume a job?", hits);
 */
export class ExtractiveAnswerer implements Answerer {
  readonly sentences: number;
  readonly passages: number;

  constructor(options: { sentences?: number; passages?: number } = {}) {
    this.sentences = options.sentences ?? 3;
    this.passages = options.passages ?? 5;
  }

  async answer(query: string, hits: RetrievedChunk[]): Promise<Answer> {
    const queryTerms = new Set(analyze(query));
    const top = hits.slice(0, this.passages);
    const candidates: Candidate[] = [];
    top.forEach((hit, hitIndex) => {
      splitSentences(hit.chunk.text, 600).forEach((s, position) => {
        const text = s.text.replace(/\s+/g, " ").trim();
        if (text.length >= 12) candidates.push({ hitIndex, position, text, score: 0 });
      });
    });
    const termsOf = candidates.map((c) => new Set(analyze(c.text)));
    const df = new Map<string, number>();
    for (const terms of termsOf) for (const t of terms) if (queryTerms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
    candidates.forEach((c, i) => {
      let overlap = 0;
      for (const t of termsOf[i]!) if (queryTerms.has(t)) overlap += Math.log(1 + candidates.length / df.get(t)!);
      c.score = overlap > 0 ? overlap + 1 / (2 + c.hitIndex) : 0;
    });
    const best = Math.max(0, ...candidates.map((c) => c.score));
    // Keep only sentences close to the best one: a single shared word is not an answer.
    const chosen = candidates
      .filter((c) => c.score > 0 && c.score >= best * 0.5)
      .sort((a, b) => b.score - a.score)
      .slice(0, this.sentences)
      .sort((a, b) => a.hitIndex - b.hitIndex || a.position - b.position);
    if (chosen.length === 0 && top[0]) chosen.push(candidates.find((c) => c.hitIndex === 0) ?? { hitIndex: 0, position: 0, text: top[0].chunk.text.slice(0, 300), score: 0 });
    if (chosen.length === 0) return { text: NO_ANSWER, citations: [], method: "extractive" };

    const numbers = new Map<number, number>();
    const citations: Citation[] = [];
    const parts = chosen.map((c) => {
      let n = numbers.get(c.hitIndex);
      if (n === undefined) {
        n = citations.length + 1;
        numbers.set(c.hitIndex, n);
        citations.push(citationFor(n, top[c.hitIndex]!, top[c.hitIndex]!.chunk.text));
      }
      return `${c.text} [${n}]`;
    });
    return { text: parts.join(" "), citations, method: "extractive" };
  }
}
