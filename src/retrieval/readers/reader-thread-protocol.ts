import type { MessagePort } from "node:worker_threads";
import type { ErrorWire } from "../../contracts/error-wire.ts";
import type { SegmentSetWire, SegmentStats } from "../../store/segments/build-segments.ts";
import type { AnnSettings } from "../../store/segments/dense-segment.ts";
import type { SluiceConfig } from "../../config/schema.ts";
import type { Query } from "../../contracts/query.ts";
import type { QueryRun } from "../run-query.ts";

/** What a reader thread opens: the index file, read by a connection of its own. */
export interface ReaderThreadData {
  indexPath: string;
  /** The process's config: retrieval settings, the extractive answer's sentences. */
  config: SluiceConfig;
  /** The pool's segment builder thread, asked for a collection's segments (with `retrieval.segments`). */
  builder?: MessagePort;
}

/** What the segment builder thread opens, and how it builds. */
export interface BuilderThreadData {
  indexPath: string;
  ann: AnnSettings;
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

/** A query pipeline as the main thread read it: compiled once per version in each reader. */
export interface QueryPipelineSource {
  /** `name@sha256-prefix` of its YAML. */
  version: string;
  yaml: string;
}

/**
 * One query, run through a query pipeline in a reader thread. A dense query comes with its
 * embedding (made on the main thread, where the model lives), so a reader loads no model.
 */
export interface ReadRequest {
  id: number;
  pipeline: QueryPipelineSource;
  query: Query;
}

export type ReadReply = { id: number; ok: true; run: QueryRun } | { id: number; ok: false; error: ErrorWire };

/** A reader asks the main thread for what lives there: the reranker. */
export interface HostRequest {
  type: "host";
  id: number;
  op: "rerank";
  query: string;
  passages: string[];
}

/** The main thread's answer to a {@link HostRequest}: the scores and the reranker that gave them. */
export type HostReply =
  | { type: "host-reply"; id: number; ok: true; scores: number[]; reranker: string }
  | { type: "host-reply"; id: number; ok: false; error: ErrorWire };

/** What the builder thread tells the pool after each build it finished. */
export interface BuiltMessage {
  type: "built";
  collection: string;
  stats: SegmentStats;
}
