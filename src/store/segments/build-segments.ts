import { setImmediate as yieldToLoop } from "node:timers/promises";
import { analyze } from "../../text/analyzer.ts";
import type { CollectionInfo, IndexStore } from "../index-store.ts";
import { type AnnSettings, DenseSegment, DenseSegmentBuilder, type DenseWire } from "./dense-segment.ts";
import { LexicalSegment, LexicalSegmentBuilder, type LexicalWire } from "./lexical-segment.ts";

export interface SegmentStats {
  /** `createdAt#version` of the collection the segments hold. */
  key: string;
  documents: number;
  vectors: number;
  bytes: number;
  buildMs: number;
}

/** One collection version's segments. */
export interface SegmentSet {
  key: string;
  lexical: LexicalSegment;
  dense: DenseSegment | null;
  stats: SegmentStats;
}

/** A segment set as it crosses threads. */
export interface SegmentSetWire {
  key: string;
  lexical: LexicalWire;
  dense: DenseWire | null;
  stats: SegmentStats;
}

/** A collection's identity and contents: a dropped and re-created collection never matches. */
export const segmentKey = (info: CollectionInfo) => `${info.createdAt}#${info.version}`;

export const segmentSetToWire = (set: SegmentSet): SegmentSetWire => ({
  key: set.key,
  lexical: set.lexical.toWire(),
  dense: set.dense?.toWire() ?? null,
  stats: set.stats,
});

export const segmentSetFromWire = (wire: SegmentSetWire): SegmentSet => ({
  key: wire.key,
  lexical: LexicalSegment.fromWire(wire.lexical),
  dense: wire.dense ? DenseSegment.fromWire(wire.dense) : null,
  stats: wire.stats,
});

export interface BuildOptions {
  /** Rows read between yields to the event loop (default: never yield, for a thread of its own). */
  sliceRows?: number;
  /** Checked between rows: true stops the build (the store is closing). */
  stopped?: () => boolean;
  /** When the dense segment gets an IVF index (`retrieval.segments.ann`); absent: always exact. */
  ann?: AnnSettings;
}

/**
 * Reads a collection into new segments; null when it does not exist, or when a write landed
 * while it was read (the segments would mix two versions).
 *
 * @example
 * const set = await buildSegments(store, "debian"); // { key, lexical, dense, stats } or null
 */
export async function buildSegments(
  store: IndexStore,
  collection: string,
  options: BuildOptions = {},
): Promise<SegmentSet | null> {
  const slice = options.sliceRows ?? Infinity;
  const stopped = options.stopped ?? (() => false);
  const started = performance.now();
  const before = await store.getCollection(collection);
  if (!before) return null;
  const lexical = new LexicalSegmentBuilder();
  let rows = 0;
  for await (const chunk of store.scanChunks(collection)) {
    lexical.add(chunk.rowid, analyze(chunk.text));
    if (++rows % slice === 0) await yieldToLoop();
    if (stopped()) return null;
  }
  const totals = await store.lexicalTotals(collection);
  let dense: DenseSegmentBuilder | null = null;
  if (before.dimensions !== null) {
    dense = new DenseSegmentBuilder(before.dimensions);
    for await (const row of store.scanVectors(collection)) {
      dense.add(row.rowid, row.vector);
      if (++rows % (slice * 4) === 0) await yieldToLoop();
      if (stopped()) return null;
    }
  }
  const after = await store.getCollection(collection);
  if (!after || segmentKey(after) !== segmentKey(before)) return null;
  const lex = lexical.build(totals);
  const den = dense?.build(options.ann) ?? null;
  const stats: SegmentStats = {
    key: segmentKey(before),
    documents: lex.documents,
    vectors: den?.rows ?? 0,
    bytes: lex.bytes + (den?.bytes ?? 0),
    buildMs: Math.round(performance.now() - started),
  };
  return { key: stats.key, lexical: lex, dense: den, stats };
}
