import { basename, dirname } from "node:path";
import type { FeatureExtractionPipeline } from "@huggingface/transformers";
import type { EmbedderConfig } from "../../config/schema.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { embedInLengthBatches, ModelCallQueue } from "../batched-model-calls.ts";
import { l2Normalize } from "../l2-normalize.ts";
import type { DenseEmbedder, EmbedOptions } from "../ports.ts";
import { inspectOnnxModelFolder } from "./onnx-model-folder.ts";

/**
 * The `embedder` config for `backend: "onnx"`, minus the `backend` discriminator (a full config
 * variable is accepted too).
 */
export type OnnxEmbedderConfig = Omit<Extract<EmbedderConfig, { backend: "onnx" }>, "backend">;

/** transformers.js keeps its settings in one global `env`; loads that change it take turns. */
let envLock: Promise<unknown> = Promise.resolve();
/** transformers.js's own model-id test (`isValidHfModelId`); a name failing it is read as a plain path. */
function isHubId(name: string): boolean {
  return (
    /^\b[\w\-.]{1,96}\b$/.test(name) &&
    !name.includes("..") &&
    !name.includes("--") &&
    !name.endsWith(".git") &&
    !name.endsWith(".ipynb")
  );
}

/**
 * Local ONNX embedder through transformers.js (onnxruntime-node): any sentence-embedding model
 * exported in transformers.js layout (`config.json`, `tokenizer.json`, `tokenizer_config.json`,
 * `onnx/model.onnx` or a quantised variant such as `onnx/model_quantized.onnx`), e.g. bge, e5,
 * MiniLM. Token vectors are pooled (`mean` over the attention mask, or `cls`) and L2-normalised.
 * `queryPrefix` / `passagePrefix` are prepended by `options.kind` (e5 wants "query: "/"passage: ").
 *
 * Offline by construction: the folder is checked first (a missing folder, config.json,
 * tokenizer file or onnx model is `CONFIG_INVALID` naming it), then transformers.js is imported
 * with remote models disallowed, its file cache off and its `fetch` replaced by one that throws.
 * These are process-wide transformers.js settings.
 *
 * `dimensions` is 0 until `warmUp()` has read `hidden_size` from config.json; `embed()` warms up
 * on first use. `id` is `onnx:<folder name>/<pooling>`: replacing the weights in place under the
 * same folder name does not change it.
 *
 * @example
 * const embedder = new OnnxEmbedder({
 *   path: "./models/e5-small-v2", pooling: "mean",
 *   queryPrefix: "query: ", passagePrefix: "passage: ", batchSize: 32,
 * });
 * await embedder.warmUp();          // embedder.dimensions is now 384
 * const [q] = await embedder.embed(["how do I resume a job?"], { kind: "query" });
 */
export class OnnxEmbedder implements DenseEmbedder {
  readonly id: string;
  private readonly config: OnnxEmbedderConfig;
  private width = 0;
  private loading: Promise<FeatureExtractionPipeline> | undefined;
  /** Model calls, one at a time. */
  private readonly calls = new ModelCallQueue();

  constructor(config: OnnxEmbedderConfig) {
    this.config = config;
    this.id = `onnx:${basename(config.path)}/${config.pooling}`;
  }

  /** Embedding width from config.json; 0 before `warmUp()`. */
  get dimensions(): number {
    return this.width;
  }

  async warmUp(): Promise<void> {
    await this.extractor();
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (texts.length === 0) return [];
    const extractor = await this.extractor();
    const prefix =
      options.kind === "query" ? this.config.queryPrefix : options.kind === "passage" ? this.config.passagePrefix : "";
    return embedInLengthBatches(texts, options.params?.batchSize ?? this.config.batchSize, signal, async (texts) => {
      const batch = texts.map((t) => prefix + t);
      const tensor = await this.calls.run(() => extractor(batch, { pooling: this.config.pooling, normalize: false }));
      const [rows, width] = tensor.dims;
      if (rows !== batch.length || width !== this.width) {
        throw new SluiceError(
          "MODEL_BAD_RESPONSE",
          `onnx model ${this.config.path} returned shape [${tensor.dims.join(", ")}], expected [${batch.length}, ${this.width}]`,
          {
            details: { path: this.config.path, expected: [batch.length, this.width], got: tensor.dims },
          },
        );
      }
      // fp16 models output float16; pool results are read as float32 either way.
      const data = (tensor.type === "float32" ? tensor : tensor.to("float32")).data as Float32Array;
      return Array.from({ length: rows }, (_, r) => l2Normalize(data.subarray(r * width, (r + 1) * width)));
    });
  }

  async close(): Promise<void> {
    const loading = this.loading;
    this.loading = undefined;
    if (loading === undefined) return;
    await this.calls.idle();
    const extractor = await loading.catch(() => undefined);
    await extractor?.dispose();
  }

  private extractor(): Promise<FeatureExtractionPipeline> {
    this.loading ??= this.load().catch((err: unknown) => {
      this.loading = undefined; // a fixed folder can be retried
      throw err;
    });
    return this.loading;
  }

  private async load(): Promise<FeatureExtractionPipeline> {
    const folder = await inspectOnnxModelFolder(this.config.path);
    const load = envLock.then(async () => {
      const { env, pipeline } = await import("@huggingface/transformers");
      env.allowRemoteModels = false;
      env.allowLocalModels = true;
      env.useFSCache = false;
      env.useBrowserCache = false;
      env.fetch = (url: string | URL) =>
        Promise.reject(new Error(`network access is disabled for the onnx embedder (asked for ${String(url)})`));
      env.localModelPath = dirname(folder.dir);
      const name = basename(folder.dir);
      // A folder name that is not a valid hub id is taken as a path by transformers.js: pass it absolute.
      const modelId = isHubId(name) ? name : folder.dir;
      return pipeline("feature-extraction", modelId, { local_files_only: true, dtype: folder.dtype });
    });
    envLock = load.catch(() => undefined);
    let extractor: FeatureExtractionPipeline;
    try {
      extractor = await load;
    } catch (err) {
      throw new SluiceError(
        "CONFIG_INVALID",
        `could not load onnx model from ${folder.dir}: ${err instanceof Error ? err.message : String(err)}`,
        {
          details: { path: folder.dir, modelFile: folder.modelFile },
          cause: err,
        },
      );
    }
    this.width = folder.hiddenSize;
    return extractor;
  }
}
