import type { ChatModel } from "../../models/ports.ts";
import type { RetrievedChunk } from "../retriever.ts";
import { citationFor, NO_ANSWER, type Answer, type Answerer } from "./answer.ts";

const SYSTEM = [
  "You answer questions using only the numbered passages provided.",
  "After every sentence, cite the passage(s) it relies on as [n].",
  "If the passages do not contain the answer, say so plainly and cite nothing.",
].join(" ");

/**
 * Answers with an OpenAI-compatible chat model (Ollama, vLLM, llama.cpp), grounded in the
 * numbered top passages. Only passages the model actually cites are returned as citations.
 *
 * @example
 * const answerer = new LlmAnswerer(new OpenAIChatModel({ url, model: "llama3.1" }));
 */
export class LlmAnswerer implements Answerer {
  readonly #model: ChatModel;
  readonly passages: number;

  constructor(model: ChatModel, options: { passages?: number } = {}) {
    this.#model = model;
    this.passages = options.passages ?? 5;
  }

  async answer(query: string, hits: RetrievedChunk[], options: { signal?: AbortSignal } = {}): Promise<Answer> {
    const top = hits.slice(0, this.passages);
    if (top.length === 0) return { text: NO_ANSWER, citations: [], method: this.#model.id };
    const context = top.map((h, i) => `[${i + 1}] (${h.chunk.title || h.chunk.docId})\n${h.chunk.text}`).join("\n\n");
    const text = (
      await this.#model.complete(
        [
          { role: "system", content: SYSTEM },
          { role: "user", content: `Passages:\n\n${context}\n\nQuestion: ${query}` },
        ],
        options.signal ? { signal: options.signal } : {},
      )
    ).trim();
    const cited = new Set<number>();
    for (const m of text.matchAll(/\[(\d+(?:\s*,\s*\d+)*)\]/g))
      for (const n of m[1]!.split(",")) cited.add(Number(n.trim()));
    const citations = [...cited]
      .filter((n) => n >= 1 && n <= top.length)
      .sort((a, b) => a - b)
      .map((n) => citationFor(n, top[n - 1]!, top[n - 1]!.chunk.text));
    return { text, citations, method: this.#model.id };
  }
}
