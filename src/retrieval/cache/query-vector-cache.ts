import type { DenseEmbedder, EmbedOptions } from "../../models/ports.ts";
import { LruCache } from "../../store/lru-cache.ts";

/**
 * A dense embedder that remembers the vectors of recent queries (`kind: "query"`), keyed by model
 * and text, so a repeated query is not embedded again; documents always go to the model.
 *
 * @example
 * const embedder = new QueryVectorCache(models.embedder(), 4096, (hit) => metrics.onQueryCache("vectors", hit));
 */
export class QueryVectorCache implements DenseEmbedder {
  readonly #inner: DenseEmbedder;
  readonly #cache: LruCache<string, Float32Array>;
  readonly #onLookup: ((hit: boolean) => void) | undefined;

  constructor(inner: DenseEmbedder, size: number, onLookup?: (hit: boolean) => void) {
    this.#inner = inner;
    this.#cache = new LruCache(size);
    this.#onLookup = onLookup;
  }

  // A remote embedder learns its model when it warms up: read through every time.
  get id(): string {
    return this.#inner.id;
  }
  get dimensions(): number {
    return this.#inner.dimensions;
  }
  get languages(): readonly string[] | undefined {
    return this.#inner.languages;
  }

  warmUp(): Promise<void> {
    return this.#inner.warmUp();
  }

  close(): Promise<void> {
    this.#cache.clear();
    return this.#inner.close();
  }

  async embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]> {
    if (options?.kind !== "query" || this.#cache.size === 0) return this.#inner.embed(texts, options);
    const model = this.#inner.id;
    const out: Float32Array[] = new Array<Float32Array>(texts.length);
    const missing: number[] = [];
    texts.forEach((text, i) => {
      const vector = this.#cache.get(`${model}\u0000${text}`);
      this.#onLookup?.(vector !== undefined);
      if (vector) out[i] = vector;
      else missing.push(i);
    });
    if (missing.length > 0) {
      const vectors = await this.#inner.embed(
        missing.map((i) => texts[i]!),
        options,
      );
      missing.forEach((i, j) => {
        out[i] = vectors[j]!;
        this.#cache.set(`${model}\u0000${texts[i]!}`, vectors[j]!);
      });
    }
    return out;
  }
}
