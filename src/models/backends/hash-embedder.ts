import { l2NormalizeInPlace } from "../l2-normalize.ts";
import type { DenseEmbedder, EmbedOptions } from "../ports.ts";
import { wordTokens } from "./word-tokens.ts";

export interface HashEmbedderOptions {
  /** Number of buckets (vector length). Default 256. */
  dimensions?: number;
}

const WORD_WEIGHT = 1;
const TRIGRAM_WEIGHT = 0.5;
const WORD_SEED = 0x9e3779b9;
const TRIGRAM_SEED = 0x85ebca6b;
/** Marks word start/end so boundary trigrams ("^ca", "at$") differ from inner ones. */
const WORD_START = 0x02;
const WORD_END = 0x03;

/**
 * Deterministic feature-hashing embedder: no model, no I/O, pure arithmetic. Each lowercase word
 * token (UAX #29 boundaries, so Thai works; see `word-tokens.ts`) adds weight 1 and each of its
 * character trigrams (with word-boundary markers) weight 0.5 to a bucket chosen by 32-bit FNV-1a
 * over UTF-16 code units, with the sign taken from the hash (signed hashing keeps collisions
 * from biasing similarity upward). Vectors are L2-normalised.
 *
 * Similarity is lexical: texts sharing words and word fragments score high. Texts with no
 * letters or digits (e.g. `""`, `"..."`) embed to the zero vector, the one exception to unit
 * length. Used for tests and as the near-free embedder in engine benchmarks.
 *
 * @example
 * const embedder = new HashEmbedder({ dimensions: 256 });
 * const [a, b] = await embedder.embed(["the cat sat", "a cat sat down"]);
 */
export class HashEmbedder implements DenseEmbedder {
  readonly id: string;
  readonly dimensions: number;

  constructor(options: HashEmbedderOptions = {}) {
    const dimensions = options.dimensions ?? 256;
    if (!Number.isInteger(dimensions) || dimensions <= 0)
      throw new RangeError(`HashEmbedder dimensions must be a positive integer, got ${dimensions}`);
    this.dimensions = dimensions;
    this.id = `hash-${dimensions}`;
  }

  async warmUp(): Promise<void> {}

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    options.signal?.throwIfAborted();
    return texts.map((text) => this.embedOne(text));
  }

  /** Synchronous variant of `embed` for one text. */
  embedOne(text: string): Float32Array {
    const v = new Float32Array(this.dimensions);
    for (const token of wordTokens(text)) {
      this.add(v, fnv1a(WORD_SEED, token), WORD_WEIGHT);
      const n = token.length;
      // Trigrams over WORD_START + token + WORD_END, hashed without building the padded string.
      for (let i = -1; i + 2 <= n; i++) {
        this.add(v, trigramHash(token, i), TRIGRAM_WEIGHT);
      }
    }
    return l2NormalizeInPlace(v);
  }

  async close(): Promise<void> {}

  private add(v: Float32Array, hash: number, weight: number): void {
    // Bucket from the low bits (via modulo), sign from the top bit.
    const bucket = hash % this.dimensions;
    v[bucket] = (v[bucket] as number) + (hash & 0x80000000 ? -weight : weight);
  }
}

/** Hash of the trigram starting at padded position `i` (-1 = the start marker). */
function trigramHash(token: string, i: number): number {
  let h = (0x811c9dc5 ^ TRIGRAM_SEED) >>> 0;
  for (let j = i; j < i + 3; j++) {
    const c = j < 0 ? WORD_START : j >= token.length ? WORD_END : token.charCodeAt(j);
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

/** 32-bit FNV-1a over the UTF-16 code units of `text`, with the offset basis XORed with `seed`. */
function fnv1a(seed: number, text: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}
