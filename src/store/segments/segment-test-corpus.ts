import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { documentInput } from "../index-store.conformance.ts";
import { SqliteIndexStore } from "../sqlite/sqlite-index-store.ts";
import { seededRandom } from "./seeded-random.ts";

/** A seeded generator, so a failing case can be run again. */
export const random = seededRandom;

/** Words drawn Zipf-like from a vocabulary, as in real text: a few very common, most rare. */
export function words(rand: () => number, vocabulary: readonly string[], count: number): string {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(vocabulary[Math.floor(vocabulary.length * rand() ** 3)]!);
  return out.join(" ");
}

export const VOCABULARY = Array.from({ length: 400 }, (_, i) => `w${i.toString(36)}x`);

/**
 * A SQLite index of `docs` random documents (one to three chunks each, 4-d vectors) in
 * collection "c", some replaced and deleted afterwards so the FTS5 totals have seen deletes.
 */
export async function randomIndex(seed: number, docs: number): Promise<SqliteIndexStore> {
  const rand = random(seed);
  const store = new SqliteIndexStore(join(mkdtempSync(join(tmpdir(), "sluice-seg-")), "index.db"));
  await store.open();
  const vector = () => [rand() - 0.5, rand() - 0.5, rand() - 0.5, rand() - 0.5];
  const write = (i: number, generation: number) => {
    const texts = Array.from({ length: 1 + Math.floor(rand() * 3) }, () =>
      words(rand, VOCABULARY, 2 + Math.floor(rand() * 60)),
    );
    if (generation > 0) texts.push(`generation ${generation}`);
    return store.writeDocument("c", documentInput(`d${i}`, texts, texts.map(vector)));
  };
  await Promise.all(Array.from({ length: docs }, (_, i) => write(i, 0)));
  await Promise.all(Array.from({ length: Math.floor(docs / 10) }, (_, i) => write((i * 7) % docs, 1)));
  for (let i = 0; i < docs / 20; i++) await store.deleteDocument("c", `d${(i * 13) % docs}`);
  return store;
}
