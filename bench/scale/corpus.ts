import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { benchCorpus } from "../corpus.ts";

const CACHE = fileURLToPath(new URL("../.cache", import.meta.url));

/** A BEIR .jsonl of `n` documents and where they came from. */
export interface ScaleCorpus {
  path: string;
  /** `debian` (real descriptions, see bench/corpus.ts) or `generated` (the fallback). */
  source: "debian" | "generated";
}

/**
 * The first `n` Debian package descriptions (bench/corpus.ts), or, when that corpus cannot be had
 * (no ../shared, no apt), `n` generated documents of similar length (~340 characters), so the
 * benchmark still runs; the caller reports which.
 */
export async function scaleCorpus(n: number): Promise<ScaleCorpus & { problem?: string }> {
  try {
    return { path: await benchCorpus(n), source: "debian" };
  } catch (error) {
    mkdirSync(CACHE, { recursive: true });
    const path = join(CACHE, `generated-${n}.jsonl`);
    const words =
      "package library tool provides support data files network server client format python module documentation development headers runtime plugin utility".split(
        " ",
      );
    const lines = Array.from({ length: n }, (_, i) => {
      const text = Array.from({ length: 50 }, (_, j) => words[(i * 7 + j * 13 + ((i * j) % 5)) % words.length]).join(
        " ",
      );
      return JSON.stringify({ _id: `gen-${i}`, title: "", text: `Generated document ${i}: ${text}.` });
    });
    writeFileSync(path, `${lines.join("\n")}\n`);
    return { path, source: "generated", problem: (error as Error).message };
  }
}
