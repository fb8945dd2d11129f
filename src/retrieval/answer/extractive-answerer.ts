import { analyze } from "../../text/analyzer.ts";
import { splitSentences } from "../../text/chunk-text.ts";
import type { RetrievedChunk } from "../retriever.ts";
import { citationFor, NO_ANSWER, type Answer, type Answerer, type Citation } from "./answer.ts";

interface Candidate {
  hitIndex: number;
  position: number;
  text: string;
  terms: Set<string>;
  question: boolean;
  score: number;
}

/** A light plural fold for matching answer sentences only (jobs ~ job); the index is unstemmed. */
const fold = (t: string) => (t.length > 3 && t.endsWith("s") && !t.endsWith("ss") ? t.slice(0, -1) : t);

/**
 * Answers with sentences taken verbatim from the top passages, each followed by its citation
 * marker. Sentences are scored by idf-weighted overlap with the question, with a preference for
 * higher-ranked passages. A question in the text is never picked as an answer, but it lifts the
 * sentences that follow it (the shape of FAQs and "How do I …?" headings). No model needed.
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
    const queryTerms = new Set(analyze(query).map(fold));
    const top = hits.slice(0, this.passages);
    const candidates: Candidate[] = [];
    top.forEach((hit, hitIndex) => {
      splitSentences(hit.chunk.text, 600).forEach((s, position) => {
        const text = s.text.replace(/\s+/g, " ").trim();
        // Too short to say anything, or too long to be one sentence (a flattened table or code block).
        if (text.length < 12 || text.length > 400 || (text.match(/\|/g)?.length ?? 0) >= 2) return;
        candidates.push({
          hitIndex,
          position,
          text,
          terms: new Set(analyze(text).map(fold)),
          question: /\?["'”’)\]`]*$/.test(text),
          score: 0,
        });
      });
    });
    const df = new Map<string, number>();
    for (const c of candidates) for (const t of c.terms) if (queryTerms.has(t)) df.set(t, (df.get(t) ?? 0) + 1);
    const overlap = (c: Candidate) => {
      let sum = 0;
      for (const t of c.terms) if (queryTerms.has(t)) sum += Math.log(1 + candidates.length / df.get(t)!);
      return sum;
    };
    candidates.forEach((c, i) => {
      const rank = 1 / (1 + 0.5 * c.hitIndex);
      c.score = overlap(c) * rank;
      // Lift the two sentences after a matching question in the same passage.
      for (const back of [1, 2]) {
        const prev = candidates[i - back];
        if (prev && prev.hitIndex === c.hitIndex && prev.question) c.score += (overlap(prev) * rank) / (back + 1);
      }
    });
    const answers = candidates.filter((c) => !c.question && c.score > 0);
    const best = Math.max(0, ...answers.map((c) => c.score));
    // Keep only sentences close to the best one: a single shared word is not an answer.
    const chosen = answers
      .filter((c) => c.score >= best * 0.5)
      .sort((a, b) => b.score - a.score)
      .slice(0, this.sentences)
      .sort((a, b) => a.hitIndex - b.hitIndex || a.position - b.position);
    if (chosen.length === 0) {
      const first = candidates.find((c) => c.hitIndex === 0 && !c.question);
      if (first) chosen.push(first);
    }
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
