import type { DenseEmbedder, ModelCallOptions, Reranker } from "../ports.ts";

/**
 * Reranks by the cosine of query and passage embeddings from a dense embedder (a bi-encoder
 * rerank): no extra weights, so it works offline with the bundled model. A cross-encoder plugs in
 * behind the same port.
 *
 * @example
 * const scores = await new EmbeddingReranker(embedder).rerank("resume a job", [
 *   "resume re-runs what failed",
 *   "the gate spools",
 * ]);
 */
export class EmbeddingReranker implements Reranker {
  readonly #embedder: DenseEmbedder;

  constructor(embedder: DenseEmbedder) {
    this.#embedder = embedder;
  }

  get id(): string {
    return `cosine:${this.#embedder.id}`;
  }

  warmUp(): Promise<void> {
    return this.#embedder.warmUp();
  }

  async rerank(query: string, passages: readonly string[], options: ModelCallOptions = {}): Promise<number[]> {
    if (passages.length === 0) return [];
    const [q] = await this.#embedder.embed([query], { ...options, kind: "query" });
    const vectors = await this.#embedder.embed(passages, { ...options, kind: "passage" });
    return vectors.map((v) => {
      let dot = 0;
      for (let i = 0; i < v.length; i++) dot += v[i]! * q![i]!;
      return dot;
    });
  }

  async close(): Promise<void> {
    // The embedder is shared; its owner closes it.
  }
}
