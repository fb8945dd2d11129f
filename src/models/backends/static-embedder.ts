import { existsSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { createHash } from "node:crypto";
import { l2NormalizeInPlace } from "../l2-normalize.ts";
import type { DenseEmbedder, EmbedOptions } from "../ports.ts";
import { type CommonComponent, commonComponent, removeCommon } from "./common-component.ts";
import { loadUseLiteVocabulary, type PieceVocabulary, UNKNOWN_PIECE } from "./piece-vocabulary.ts";
import { StaticVectorStore } from "./static-vector-store.ts";
import { UseLiteTeacher, type WordTeacher } from "./use-lite-teacher.ts";
import { wordTokens } from "./word-tokens.ts";

/** Bump when the way vectors are composed changes: it is part of the id. */
const ALGORITHM = "sif-v2";
/** Longer tokens (URLs, hashes, long numbers) are never sent to the teacher: their pieces stand in. */
const MAX_WORD_LENGTH = 32;

export interface StaticEmbedderOptions {
  /** Smoothing of the word weight a/(a+p(w)); p from the vocabulary's piece scores. Default 1e-4. */
  a?: number;
  /** Unseen words per teacher call. Default 256. */
  batchSize?: number;
  /** The SQLite file holding the teacher's piece and word vectors. Absent: kept in memory only. */
  cachePath?: string;
  /**
   * A machine-wide SQLite file of the teacher's piece table alone (it depends on the model, not on
   * the data): a new data folder copies it instead of having the teacher embed 8,000 pieces again,
   * and the first folder to compute the table leaves it there. Absent: every folder computes its own.
   */
  seedPath?: string;
  /** Words held in memory (composed form, ~2 KiB each); others are read from the file. Default 32,768. */
  memoryWords?: number;
  /** The model distilled (default: the bundled USE-lite). */
  teacher?: WordTeacher;
  /** Its vocabulary (default: USE-lite's 8,000 pieces). */
  vocabulary?: () => Promise<PieceVocabulary>;
}

/** A complete piece table from the machine-wide seed, copied into `store`; undefined when the seed has none. */
function copySeed(
  path: string,
  teacher: WordTeacher,
  size: number,
  store: StaticVectorStore,
): CommonComponent | undefined {
  if (!existsSync(path)) return undefined;
  let seed: StaticVectorStore | undefined;
  try {
    seed = new StaticVectorStore(path, teacher.id, teacher.dimensions);
    const common = seed.getCommon();
    if (common === undefined || seed.pieceCount() !== size) return undefined;
    const pieces: Float32Array[] = [];
    for (let id = 0; id < size; id++) {
      const piece = seed.getPiece(id);
      if (piece === undefined) return undefined;
      pieces.push(piece);
    }
    store.putPieces(pieces);
    store.putCommon(common);
    return store.getCommon();
  } catch {
    return undefined; // an unreadable cache is no reason to fail: the teacher computes the table
  } finally {
    seed?.close();
  }
}

/** Leaves the piece table in the machine-wide seed for the next data folder (best effort). */
function leaveSeed(path: string, teacher: WordTeacher, pieces: readonly Float32Array[], common: CommonComponent): void {
  let seed: StaticVectorStore | undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    seed = new StaticVectorStore(path, teacher.id, teacher.dimensions);
    if (seed.pieceCount() !== pieces.length) seed.putPieces(pieces);
    if (seed.getCommon() === undefined) seed.putCommon(common);
  } catch {
    // A read-only home or a full disk: the next folder computes the table again, nothing worse.
  } finally {
    seed?.close();
  }
}

/** A word ready to add: its vector with the common component removed, and its weight. */
interface WordEntry {
  vector: Float32Array;
  weight: number;
}

interface Table {
  vocab: PieceVocabulary;
  store: StaticVectorStore;
  common: CommonComponent;
  /** Piece vectors with the common component removed, by id, read from the file when first used. */
  pieces: Map<number, Float32Array>;
  id: string;
}

/**
 * A static embedder distilled from a teacher model (the bundled USE-lite by default). Each word
 * is embedded alone by the teacher the first time a passage holds it, stored in the data folder's
 * SQLite file, and reused: a text is the L2-normalised weighted mean of its words' vectors, each
 * weighted a/(a+p(w)) with p(w) the unigram probability of the word's pieces in the teacher's own
 * vocabulary, after the mean and first principal component of the teacher's 8,000-piece table are
 * removed (both computed once from that table, which is stored too, so stored vectors never change).
 *
 * Passages (`kind: "passage"` or absent) send their unseen words to the teacher, deduplicated
 * across the batch, in calls of `batchSize` words. Queries never call the teacher: an unseen query
 * word is composed from its subword pieces (weaker, but a query stays well under a millisecond).
 * So a query equals the passage of the same text once that passage has been ingested. Words longer
 * than 32 characters, and words with characters outside the teacher's vocabulary (an English
 * model: Thai, Arabic, …), always use their known pieces. Texts without a word embed to the zero
 * vector.
 *
 * The id, `static-use-lite@<hash>`, covers the teacher, its vocabulary, `a`, the composition and
 * the removed mean and component; before `warmUp()` it is `static-use-lite@unwarmed`, which no
 * collection stores.
 *
 * @example
 * const embedder = new StaticEmbedder({ cachePath: join(dataDir, "static-embedder.db") });
 * await embedder.warmUp(); // first time: the teacher embeds its 8,000 pieces (a few seconds)
 * const [v] = await embedder.embed(["how do I resume a failed job?"], { kind: "query" });
 */
export class StaticEmbedder implements DenseEmbedder {
  readonly languages = ["en"] as const;
  readonly #a: number;
  readonly #batchSize: number;
  readonly #memoryWords: number;
  readonly #options: StaticEmbedderOptions;
  readonly #teacher: WordTeacher;
  #loading: Promise<Table> | undefined;
  #table: Table | undefined;
  /** Two generations of recently used words: a cheap LRU. */
  #recent = new Map<string, WordEntry>();
  #older = new Map<string, WordEntry>();
  /** Words the teacher is embedding now, so concurrent batches ask for each word once. */
  readonly #pending = new Map<string, Promise<void>>();

  constructor(options: StaticEmbedderOptions = {}) {
    this.#options = options;
    this.#a = options.a ?? 1e-4;
    if (!(this.#a > 0)) throw new RangeError(`StaticEmbedder a must be positive, got ${this.#a}`);
    this.#batchSize = options.batchSize ?? 256;
    this.#memoryWords = options.memoryWords ?? 32_768;
    this.#teacher = options.teacher ?? new UseLiteTeacher();
  }

  get id(): string {
    return this.#table?.id ?? "static-use-lite@unwarmed";
  }

  get dimensions(): number {
    return this.#teacher.dimensions;
  }

  async warmUp(): Promise<void> {
    await this.#load();
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (texts.length === 0) return [];
    const table = await this.#load();
    const tokens = texts.map((t) => wordTokens(t));
    if (options.kind !== "query") await this.#learn(table, tokens, signal);
    signal?.throwIfAborted();
    return tokens.map((words) => this.#compose(table, words));
  }

  async close(): Promise<void> {
    const loading = this.#loading;
    this.#loading = undefined;
    this.#table = undefined;
    this.#recent.clear();
    this.#older.clear();
    await Promise.allSettled([...this.#pending.values()]);
    await this.#teacher.close();
    (await loading?.catch(() => undefined))?.store.close();
  }

  /** Words in the durable cache (for benchmarks and tests). */
  async storedWords(): Promise<number> {
    return (await this.#load()).store.wordCount();
  }

  #load(): Promise<Table> {
    this.#loading ??= this.#open().then(
      (table) => (this.#table = table),
      (err: unknown) => {
        this.#loading = undefined;
        throw err;
      },
    );
    return this.#loading;
  }

  async #open(): Promise<Table> {
    const vocab = await (this.#options.vocabulary ?? loadUseLiteVocabulary)();
    const teacher = this.#teacher;
    const store = new StaticVectorStore(this.#options.cachePath ?? ":memory:", teacher.id, teacher.dimensions);
    try {
      const complete = store.pieceCount() === vocab.size;
      let common = complete ? store.getCommon() : undefined;
      if (common === undefined && !complete && this.#options.seedPath !== undefined)
        common = copySeed(this.#options.seedPath, teacher, vocab.size, store);
      if (common === undefined) {
        // First start on this data folder: the teacher embeds its whole vocabulary, piece by piece.
        const raw: Float32Array[] = [];
        for (let start = 0; start < vocab.size; start += this.#batchSize) {
          const ids = Array.from({ length: Math.min(this.#batchSize, vocab.size - start) }, (_, i) => start + i);
          raw.push(...(complete ? ids.map((id) => store.getPiece(id)!) : await teacher.embedPieces(ids)));
        }
        if (!complete) store.putPieces(raw);
        store.putCommon(commonComponent(raw));
        common = store.getCommon()!;
        if (this.#options.seedPath !== undefined) leaveSeed(this.#options.seedPath, teacher, raw, common);
      }
      const id = `static-use-lite@${createHash("sha256")
        .update(JSON.stringify({ algorithm: ALGORITHM, a: this.#a, teacher: teacher.id, vocabulary: vocab.hash }))
        .update(new Uint8Array(common.mean.buffer))
        .update(new Uint8Array(common.component.buffer))
        .digest("hex")
        .slice(0, 16)}`;
      return { vocab, store, common, pieces: new Map(), id };
    } catch (err) {
      store.close();
      throw err;
    }
  }

  /** Has the teacher embed every word of `tokens` that is neither in memory nor in the file. */
  async #learn(table: Table, tokens: readonly string[][], signal: AbortSignal | undefined): Promise<void> {
    const waits = new Set<Promise<void>>();
    const unseen: string[] = [];
    const asked = new Set<string>();
    for (const words of tokens) {
      for (const word of words) {
        if (asked.has(word)) continue;
        asked.add(word);
        if (this.#cached(table, word) || !this.#teachable(table, word)) continue;
        const pending = this.#pending.get(word);
        if (pending) waits.add(pending);
        else unseen.push(word);
      }
    }
    for (let start = 0; start < unseen.length; start += this.#batchSize) {
      // tfjs-wasm computes on the event loop: let it breathe between teacher calls.
      if (start > 0) await new Promise<void>((resolve) => setImmediate(resolve));
      signal?.throwIfAborted();
      const batch = unseen.slice(start, start + this.#batchSize);
      const done = this.#teacher.embedWords(batch).then((vectors) => {
        table.store.putWords(batch.map((w, i) => [w, vectors[i]!] as const));
        batch.forEach((w, i) => this.#remember(w, this.#entry(table, w, vectors[i]!)));
      });
      const settled = done.finally(() => batch.forEach((w) => this.#pending.delete(w)));
      batch.forEach((w) => this.#pending.set(w, settled));
      waits.add(settled);
      // One teacher call at a time per embed(): the teacher is single-threaded anyway.
      await settled;
    }
    await Promise.all(waits);
  }

  #compose(table: Table, words: readonly string[]): Float32Array {
    const out = new Float32Array(this.dimensions);
    for (const word of words) {
      const { vector, weight } = this.#lookup(table, word);
      for (let j = 0; j < out.length; j++) out[j]! += weight * vector[j]!;
    }
    return l2NormalizeInPlace(out);
  }

  /** A word's entry: from memory, the file, or (never seen) its pieces. */
  #lookup(table: Table, word: string): WordEntry {
    const cached = this.#cached(table, word);
    if (cached) return cached;
    const entry = this.#fromPieces(table, word);
    // A word the teacher will never see keeps this entry for good; another may be taught later.
    if (!this.#teachable(table, word)) this.#remember(word, entry);
    return entry;
  }

  /**
   * Whether a passage's word goes to the teacher: not when it is long, nor when it holds a
   * character outside the vocabulary (Thai, Arabic, …): the teacher reads every such run as the
   * same unknown piece, so all those words would get nearly one vector, at 3 ms each.
   */
  #teachable(table: Table, word: string): boolean {
    return word.length <= MAX_WORD_LENGTH && !table.vocab.tokenize(word).includes(UNKNOWN_PIECE);
  }

  #cached(table: Table, word: string): WordEntry | undefined {
    const hit = this.#recent.get(word);
    if (hit) return hit;
    const old = this.#older.get(word);
    if (old) {
      this.#remember(word, old);
      return old;
    }
    if (word.length > MAX_WORD_LENGTH) return undefined;
    const stored = table.store.getWord(word);
    if (stored === undefined) return undefined;
    const entry = this.#entry(table, word, stored);
    this.#remember(word, entry);
    return entry;
  }

  #remember(word: string, entry: WordEntry): void {
    this.#recent.set(word, entry);
    if (this.#recent.size >= this.#memoryWords / 2) {
      this.#older = this.#recent;
      this.#recent = new Map();
    }
  }

  #entry(table: Table, word: string, teacherVector: Float32Array): WordEntry {
    return { vector: removeCommon(table.common, teacherVector), weight: this.#weight(table, word) };
  }

  /** The word's weight a/(a+p(w)), p(w) from its pieces' scores. */
  #weight(table: Table, word: string): number {
    const p = Math.exp(table.vocab.logProb(table.vocab.tokenize(word)));
    return this.#a / (this.#a + p);
  }

  #piece(table: Table, id: number): Float32Array {
    let piece = table.pieces.get(id);
    if (piece === undefined) {
      const stored = table.store.getPiece(id);
      if (stored === undefined) throw new RangeError(`piece ${id} is missing from the static embedder's table`);
      piece = removeCommon(table.common, stored);
      table.pieces.set(id, piece);
    }
    return piece;
  }

  /** An unseen word: the weighted mean of its pieces' vectors, with the word's own weight. */
  #fromPieces(table: Table, word: string): WordEntry {
    const ids = table.vocab.tokenize(word);
    const vector = new Float32Array(this.dimensions);
    let total = 0;
    for (const id of ids) {
      if (id === UNKNOWN_PIECE) continue;
      const p = Math.exp(table.vocab.scores[id]!);
      const w = this.#a / (this.#a + p);
      const piece = this.#piece(table, id);
      for (let j = 0; j < vector.length; j++) vector[j]! += w * piece[j]!;
      total += w;
    }
    if (total > 0) for (let j = 0; j < vector.length; j++) vector[j]! /= total;
    return { vector, weight: this.#a / (this.#a + Math.exp(table.vocab.logProb(ids))) };
  }
}
