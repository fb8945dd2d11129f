import type { MessagePort } from "node:worker_threads";
import type { ErrorWire } from "../../contracts/error-wire.ts";
import type { MetaFilter } from "../../store/meta-filter.ts";
import type { SegmentSetWire, SegmentStats } from "../../store/segments/build-segments.ts";
import type { RetrievalConfig } from "../../config/schema.ts";
import type { Answer } from "../answer/answer.ts";
import type { RetrievalMode, RetrievedChunk } from "../retriever.ts";

/** What a reader thread opens: the index file, read by a connection of its own. */
export interface ReaderThreadData {
  indexPath: string;
  retrieval: RetrievalConfig;
  /** Sentences of the extractive answer. */
  sentences: number;
  /** The pool's segment builder thread, asked for a collection's segments (with `retrieval.segments`). */
  builder?: MessagePort;
}

/** A reader asks the builder thread for a collection's current segments. */
export interface SegmentRequest {
  id: number;
  collection: string;
}

/** The segments (null: the collection is gone or changed while read), or why there are none. */
export type SegmentReply = { id: number; set: SegmentSetWire | null } | { id: number; error: ErrorWire };

/** What the builder thread is told by the pool. */
export type BuilderMessage = { type: "connect"; port: MessagePort } | { type: "close" };

/**
 * The query embedder as the main thread has it: the vector comes with each request (embedded
 * there, where the model lives), so a reader thread loads no model.
 */
export interface QueryEmbedderInfo {
  id: string;
  dimensions: number;
  languages?: string[];
}

/** One query, retrieved (and answered) in a reader thread. */
export interface ReadRequest {
  id: number;
  collection: string;
  query: string;
  mode: RetrievalMode;
  k: number;
  answer: boolean;
  embedder: QueryEmbedderInfo;
  /** The query's vector, when the mode has a dense part. */
  vector?: Float32Array;
  filter?: MetaFilter;
}

export type ReadReply =
  { id: number; ok: true; hits: RetrievedChunk[]; answer?: Answer } | { id: number; ok: false; error: ErrorWire };

/** What the builder thread tells the pool after each build it finished. */
export interface BuiltMessage {
  type: "built";
  collection: string;
  stats: SegmentStats;
}
