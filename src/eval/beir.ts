import { createReadStream, existsSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { SluiceError } from "../contracts/errors.ts";
import type { Judgments } from "./metrics.ts";

export interface BeirSet {
  dir: string;
  corpus: string;
  queries: Map<string, string>;
  qrels: Map<string, Judgments>;
}

async function* lines(path: string): AsyncGenerator<[number, string]> {
  const rl = createInterface({ input: createReadStream(path, "utf8"), crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim()) yield [n, line];
  }
}

/**
 * Reads a BEIR-form folder: corpus.jsonl, queries.jsonl and qrels/test.tsv (header line first).
 *
 * @example
 * const set = await loadBeir("../shared/data/faq-en");
 */
export async function loadBeir(dir: string, split = "test"): Promise<BeirSet> {
  const corpus = join(dir, "corpus.jsonl");
  const queriesPath = join(dir, "queries.jsonl");
  const qrelsPath = join(dir, "qrels", `${split}.tsv`);
  for (const p of [corpus, queriesPath, qrelsPath]) {
    if (!existsSync(p))
      throw new SluiceError("PATH_NOT_FOUND", `${dir} is not a BEIR folder: ${p} is missing`, { details: { path: p } });
  }
  const queries = new Map<string, string>();
  for await (const [n, line] of lines(queriesPath)) {
    try {
      const q = JSON.parse(line) as { _id: string | number; text: string };
      queries.set(String(q._id), q.text);
    } catch {
      throw new SluiceError("JSONL_INVALID", `${queriesPath} line ${n}: not valid JSON`, {
        details: { path: queriesPath, line: n },
      });
    }
  }
  const qrels = new Map<string, Judgments>();
  for await (const [n, line] of lines(qrelsPath)) {
    const [qid, docId, score] = line.split("\t");
    if (n === 1 && Number.isNaN(Number(score))) continue;
    if (!qid || !docId || score === undefined || Number.isNaN(Number(score))) {
      throw new SluiceError(
        "VALIDATION_FAILED",
        `${qrelsPath} line ${n}: expected "query-id<TAB>corpus-id<TAB>score"`,
        { details: { path: qrelsPath, line: n } },
      );
    }
    const j = qrels.get(qid) ?? new Map<string, number>();
    j.set(docId, Number(score));
    qrels.set(qid, j);
  }
  return { dir, corpus, queries, qrels };
}
