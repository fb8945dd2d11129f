import type { SluiceConfig } from "../config/schema.ts";
import type { AnswerValue, RankedChunks } from "../contracts/query.ts";
import type { DenseEmbedder, OcrEngine, Reranker, SparseEncoder } from "../models/ports.ts";
import type { IndexStore } from "../store/index-store.ts";

/**
 * Shared resources handed to stage factories. Models are created on first use, so validating
 * or loading a pipeline never opens one.
 */
export interface StageServices {
  config: SluiceConfig;
  /** The data folder (`--data`, `SLUICE_DATA`): where stages keep files they fetch (e.g. `downloads/`). */
  dataDir: string;
  store(): IndexStore;
  embedder(): DenseEmbedder;
  sparseEncoder(): SparseEncoder;
  /** OCR through the model plane (in-process tesseract or a model server); `parse.auto` reads pages with it. */
  ocr(): OcrEngine;
  /** The query reranker (`retrieval.rerank`): query pipelines' `query.rerank` calls it. */
  reranker(): Reranker;
  /** The configured answer writer (extractive or a chat model): `query.answer` calls it. */
  answerer(): AnswerWriter;
}

/** Writes a cited answer from a query's ranked chunks (the answerers of retrieval/answer). */
export interface AnswerWriter {
  answer(query: string, hits: RankedChunks["hits"], options?: { signal?: AbortSignal }): Promise<AnswerValue>;
}
