import { dirname } from "node:path";
import type { SluiceConfig } from "../../src/config/schema.ts";
import type { HashEmbedder } from "../../src/models/backends/hash-embedder.ts";
import type { StageServices } from "../../src/pipeline/services.ts";
import { sentenceChunker } from "../../src/stages/chunk/sentence-chunker.ts";
import { toParsedDocument } from "../../src/stages/parse/bytes-to-document.ts";
import { parseBytes } from "../../src/stages/parse/formats/index.ts";
import { expandPaths } from "../../src/stages/sources/expand-paths.ts";
import { readDocument } from "../../src/stages/sources/read-document.ts";
import type { WriteDocumentInput } from "../../src/store/index-store.ts";
import { analyze } from "../../src/text/analyzer.ts";

export interface PreparedCorpus {
  inputs: WriteDocumentInput[];
  chunks: number;
  /** What each document went through before the writes, in words (for the report). */
  path: string;
  seconds: number;
}

/**
 * The index writes of a BEIR corpus as the default `auto` pipeline makes them: the .jsonl expanded
 * into inline refs, read, parsed (`parse.auto`'s text path), chunked by `chunk.sentences` with its
 * defaults (2,000 characters, 100 overlap, title prefix) and embedded by `embedder`; lexical terms
 * are `index.write`'s (`analyze` of each chunk). Done once, before any store is timed.
 *
 * @example
 * const { inputs } = await prepareDocuments(corpusPath, config, new HashEmbedder({ dimensions: 256 }));
 */
export async function prepareDocuments(
  corpusPath: string,
  config: SluiceConfig,
  embedder: HashEmbedder,
): Promise<PreparedCorpus> {
  const started = performance.now();
  const maxDocumentBytes = config.ingest.maxDocumentBytes;
  const chunker = sentenceChunker.create(sentenceChunker.configSchema.parse({}), {} as StageServices);
  const signal = new AbortController().signal;
  const inputs: WriteDocumentInput[] = [];
  let chunks = 0;
  for await (const ref of expandPaths([corpusPath], { cwd: dirname(corpusPath), maxDocumentBytes })) {
    const raw = await readDocument(ref, { maxDocumentBytes });
    const document = toParsedDocument(raw, await parseBytes(raw));
    const ctx = { jobId: "bench", docId: document.id, collection: "debian", signal, attempt: 1 };
    const { chunks: docChunks } = await chunker.execute({ document }, ctx);
    const vectors = docChunks.map((c) => embedder.embedOne(c.text));
    inputs.push({
      document,
      chunks: docChunks,
      dense: { model: embedder.id, dimensions: embedder.dimensions, vectors },
      lexical: docChunks.map((c) => analyze(c.text)),
    });
    chunks += docChunks.length;
  }
  return {
    inputs,
    chunks,
    path: `auto pipeline: parse.auto, chunk.sentences (2000/100), ${embedder.id}, analyze`,
    seconds: (performance.now() - started) / 1000,
  };
}
