/**
 * Model ports. Stages talk to these interfaces only; backends (in-process, HTTP, gRPC) sit side
 * by side behind them and share one conformance suite (`conformance.test-suite.ts`).
 */
export interface EmbedOptions {
  signal?: AbortSignal;
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

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatModel {
  readonly id: string;
  complete(messages: readonly ChatMessage[], options?: { signal?: AbortSignal; maxTokens?: number }): Promise<string>;
}
