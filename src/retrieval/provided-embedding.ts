import type { QueryEmbedding } from "../contracts/query.ts";
import type { DenseEmbedder } from "../models/ports.ts";

/**
 * The query embedder as far as dense retrieval needs it, where the vector was made elsewhere
 * (the main thread, where the model lives) and came with the query: it embeds nothing else.
 *
 * @example
 * const embedder = new ProvidedEmbedding(query.embedding);
 * await retriever(() => embedder).dense(collection, query.text, 10);
 */
export class ProvidedEmbedding implements DenseEmbedder {
  readonly id: string;
  readonly dimensions: number;
  readonly languages?: readonly string[];
  readonly #vector: Float32Array;

  constructor(embedding: QueryEmbedding) {
    this.id = embedding.model;
    this.dimensions = embedding.vector.length;
    if (embedding.languages) this.languages = embedding.languages;
    this.#vector = embedding.vector;
  }

  warmUp(): Promise<void> {
    return Promise.resolve();
  }

  embed(texts: readonly string[]): Promise<Float32Array[]> {
    if (texts.length !== 1)
      return Promise.reject(new Error("a provided query embedding answers for its one query only"));
    return Promise.resolve([this.#vector]);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
