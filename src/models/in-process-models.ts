import type { EmbedderConfig } from "../config/schema.ts";
import { EmbeddingReranker } from "./backends/embedding-reranker.ts";
import { LexicalSparseEncoder } from "./backends/lexical-sparse-encoder.ts";
import { TesseractOcr } from "./backends/tesseract-ocr.ts";
import { createEmbedder } from "./create-embedder.ts";
import type { ModelPlane } from "./model-plane.ts";
import type { DenseEmbedder, OcrEngine, Reranker, SparseEncoder } from "./ports.ts";

export interface InProcessModelsOptions {
  embedder: EmbedderConfig;
  /** The data folder: the `static` embedder keeps its word cache there. */
  dataDir?: string;
  /** Default OCR languages (tesseract codes joined by +). */
  ocrLanguages?: string;
  /** Use these instead of building them from config (tests, benchmarks). */
  overrides?: { embedder?: DenseEmbedder; sparseEncoder?: SparseEncoder; reranker?: Reranker; ocr?: OcrEngine };
}

/**
 * The in-process adapter of the model port: the configured embedder, the analyzer's sparse
 * weights, a cosine reranker over the embedder, and tesseract.js OCR. Each ML runtime is imported
 * by its backend's `warmUp()`, so building this loads none of them.
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
    this.#embedder ??= createEmbedder(
      this.#options.embedder,
      this.#options.dataDir === undefined ? {} : { dataDir: this.#options.dataDir },
    );
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

  async close(): Promise<void> {
    await Promise.all([this.#ocr?.close(), this.#reranker?.close(), this.#sparse?.close()]);
    await this.#embedder?.close();
  }
}
