/**
 * Model ports. Stages and retrieval talk to these interfaces only; backends (in-process, HTTP,
 * gRPC) sit side by side behind them and share one conformance suite (`conformance.test-suite.ts`).
 */

/**
 * Where a model call may run. `gpu-preferred` falls back to CPU when no GPU is free;
 * `gpu-required` fails fast (DEVICE_UNAVAILABLE, gRPC FAILED_PRECONDITION) instead.
 */
export type DevicePreference = "cpu" | "gpu-preferred" | "gpu-required";

/**
 * Runtime parameters of one model call. They come from the stage's config in the job's pipeline
 * snapshot and travel with each request; a model server validates them and applies them, so
 * nothing about a job is hard-coded in the server. Absent fields take the backend's defaults.
 */
export interface ModelParams {
  device?: DevicePreference;
  /** Texts per model batch. */
  batchSize?: number;
  /** How long the model stays loaded after this call when idle (the residency policy may shorten it). */
  keepAliveMs?: number;
  /** OCR languages as tesseract writes them, e.g. `eng+tha`. */
  languages?: string;
  /** OCR words below this confidence (0-100) are dropped from the text. */
  minConfidence?: number;
}

/** What every model call may carry besides its inputs. */
export interface ModelCallOptions {
  /**
   * Aborted on cancel or timeout: an in-process backend stops between batches, a remote call is
   * cancelled on the server.
   */
  signal?: AbortSignal;
  /** Absolute deadline (epoch ms); a remote call sends it as the gRPC deadline. */
  deadline?: number;
  /** Tenant the call is made for; travels as `tenant_id` metadata. */
  tenantId?: string;
  /** W3C trace context of the caller; travels as `traceparent` metadata. */
  traceparent?: string;
  params?: ModelParams;
}

export interface EmbedOptions extends ModelCallOptions {
  /** Queries and passages embed differently in some models (e5, bge); backends that don't care ignore it. */
  kind?: "query" | "passage";
}

export interface DenseEmbedder {
  /** Stable identifier of model and version, stored with the collection so vectors never mix. */
  readonly id: string;
  readonly dimensions: number;
  /**
   * Languages (BCP-47) the model was trained for; absent means multilingual. Hybrid retrieval
   * leaves the dense list out for queries in other languages rather than fuse in noise.
   */
  readonly languages?: readonly string[];
  /** Opens the model (weights, sessions, HTTP agents). Safe to call more than once. */
  warmUp(): Promise<void>;
  /** One L2-normalised vector per text, in order. */
  embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  close(): Promise<void>;
}

export interface SparseEncoder {
  readonly id: string;
  warmUp(): Promise<void>;
  /** One term → weight map per text. */
  encode(texts: readonly string[], options?: EmbedOptions): Promise<Array<Record<string, number>>>;
  close(): Promise<void>;
}

export interface Reranker {
  readonly id: string;
  warmUp(): Promise<void>;
  /** One relevance score per passage, in the order given (higher is more relevant). */
  rerank(query: string, passages: readonly string[], options?: ModelCallOptions): Promise<number[]>;
  close(): Promise<void>;
}

/** Pixel box of a recognised word, top-left origin. */
export interface OcrBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

export interface OcrWord {
  text: string;
  /** 0-100, as tesseract reports it. */
  confidence: number;
  bbox: OcrBox;
}

export interface OcrInput {
  /** PNG or JPEG bytes, or a PDF (then `page` names the 1-based page to render). */
  data: Uint8Array;
  mediaType: "image/png" | "image/jpeg" | "application/pdf";
  page?: number;
}

export interface OcrResult {
  /** Recognised text, NFC, lines joined with `\n`. */
  text: string;
  /** Mean word confidence, 0-100. */
  confidence: number;
  words: OcrWord[];
  /** The languages it was read with, e.g. `eng+tha`. */
  languages: string;
}

export interface OcrEngine {
  readonly id: string;
  warmUp(): Promise<void>;
  recognize(input: OcrInput, options?: ModelCallOptions): Promise<OcrResult>;
  close(): Promise<void>;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatModel {
  readonly id: string;
  complete(messages: readonly ChatMessage[], options?: { signal?: AbortSignal; maxTokens?: number }): Promise<string>;
}
