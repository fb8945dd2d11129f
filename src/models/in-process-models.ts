import type { EmbedderConfig } from "../config/schema.ts";
import { EmbeddingReranker } from "./backends/embedding-reranker.ts";
import { LexicalSparseEncoder } from "./backends/lexical-sparse-encoder.ts";
import { TesseractOcr } from "./backends/tesseract-ocr.ts";
import { createEmbedder } from "./create-embedder.ts";
import { ThreadedEmbedder } from "./threaded-embedder.ts";
import type { ModelPlane } from "./model-plane.ts";
import type { ModelPlaneStatus } from "./model-status.ts";
import type { DenseEmbedder, OcrEngine, Reranker, SparseEncoder } from "./ports.ts";

export interface InProcessModelsOptions {
  embedder: EmbedderConfig;
  /** The data folder: the `static` embedder keeps its word cache there. */
  dataDir?: string;
  /**
   * Worker threads for an embedder that computes here (`static`, `use-lite`): 0 or absent, on the
   * event loop. `hash` (too cheap for the hop), `onnx` and `openai` (already off the event loop)
   * ignore it.
   */
  threads?: number;
  /** Default OCR languages (tesseract codes joined by +). */
  ocrLanguages?: string;
  /** Use these instead of building them from config (tests, benchmarks). */
  overrides?: { embedder?: DenseEmbedder; sparseEncoder?: SparseEncoder; reranker?: Reranker; ocr?: OcrEngine };
}

/** Backends that compute on the calling thread, so a pool of worker threads takes them off the event loop. */
const THREADED_BACKENDS: ReadonlySet<EmbedderConfig["backend"]> = new Set(["static", "use-lite"]);

/**
 * The in-process adapter of the model port: the configured embedder, the analyzer's sparse
 * weights, a cosine reranker over the embedder, and tesseract.js OCR. Each ML runtime is imported
 * by its backend's `warmUp()`, so building this loads none of them. With `threads`, a `static` or
`use-lite` embedder runs in that many worker threads (`ThreadedEmbedder`) instead.
 *
 * @example
 * const models = new InProcessModels({ embedder: { backend: "use-lite", batchSize: 16 } });
 */
export class InProcessModels implements ModelPlane {
  readonly mode = "in-process";
  readonly #options: InProcessModelsOptions;
  #embedder: DenseEmbedder | undefined;
  #sparse: SparseEncoder | undefined;
  #reranker: Reranker | undefined;
  #ocr: OcrEngine | undefined;

  constructor(options: InProcessModelsOptions) {
    this.#options = options;
    this.#embedder = options.overrides?.embedder;
    this.#sparse = options.overrides?.sparseEncoder;
    this.#reranker = options.overrides?.reranker;
    this.#ocr = options.overrides?.ocr;
  }

  async open(): Promise<void> {
    // Nothing to check: each backend loads its runtime in warmUp().
  }

  embedder(): DenseEmbedder {
    const { embedder: config, dataDir, threads = 0 } = this.#options;
    this.#embedder ??=
      threads > 0 && THREADED_BACKENDS.has(config.backend)
        ? new ThreadedEmbedder({ config, threads, ...(dataDir === undefined ? {} : { dataDir }) })
        : createEmbedder(config, dataDir === undefined ? {} : { dataDir });
    return this.#embedder;
  }

  sparseEncoder(): SparseEncoder {
    this.#sparse ??= new LexicalSparseEncoder();
    return this.#sparse;
  }

  reranker(): Reranker {
    this.#reranker ??= new EmbeddingReranker(this.embedder());
    return this.#reranker;
  }

  ocr(): OcrEngine {
    this.#ocr ??= new TesseractOcr({ languages: this.#options.ocrLanguages ?? "eng+tha" });
    return this.#ocr;
  }

  async status(): Promise<ModelPlaneStatus> {
    const embedder = this.embedder();
    const service = (name: string, model: string, extra: { dimensions?: number } = {}) => ({
      service: name,
      model,
      health: "IN_PROCESS" as const,
      residency: "on first use" as const,
      device: "cpu",
      ...extra,
    });
    return {
      mode: "in-process",
      services: [
        service("embed", embedder.id, { dimensions: embedder.dimensions }),
        service("sparse", this.sparseEncoder().id),
        service("rerank", this.reranker().id),
        service("ocr", this.ocr().id),
      ],
      gpus: [],
    };
  }

  async close(): Promise<void> {
    await Promise.all([this.#ocr?.close(), this.#reranker?.close(), this.#sparse?.close()]);
    await this.#embedder?.close();
  }
}
