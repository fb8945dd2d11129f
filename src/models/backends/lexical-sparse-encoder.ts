import type { EmbedOptions, SparseEncoder } from "../ports.ts";
import { analyze, termFrequencies } from "../../text/analyzer.ts";

/**
 * The default sparse encoder: BM25-style saturated term frequencies from the analyzer. It has
 * no model; the query side multiplies by idf from the index. A SPLADE model plugs in behind the
 * same port and replaces it.
 *
 * Weight of term t in a chunk of length |d|: tf·(k1+1) / (tf + k1·(1 − b + b·|d|/L)), with a
 * fixed reference length L (the true average is unknown while documents stream in).
 *
 * @example
 * const [weights] = await new LexicalSparseEncoder().encode(["resume a failed job"]);
 */
export class LexicalSparseEncoder implements SparseEncoder {
  readonly id = "lexical-bm25@1";
  readonly k1: number;
  readonly b: number;
  readonly referenceLength: number;

  constructor(options: { k1?: number; b?: number; referenceLength?: number } = {}) {
    this.k1 = options.k1 ?? 0.9;
    this.b = options.b ?? 0.4;
    this.referenceLength = options.referenceLength ?? 120;
  }

  async warmUp(): Promise<void> {}

  async encode(texts: readonly string[], options: EmbedOptions = {}): Promise<Array<Record<string, number>>> {
    options.signal?.throwIfAborted();
    return texts.map((text) => {
      const tokens = analyze(text);
      const norm = this.k1 * (1 - this.b + (this.b * tokens.length) / this.referenceLength);
      const out: Record<string, number> = {};
      for (const [term, tf] of termFrequencies(tokens))
        out[term] = Number(((tf * (this.k1 + 1)) / (tf + norm)).toFixed(4));
      return out;
    });
  }

  async close(): Promise<void> {}
}
