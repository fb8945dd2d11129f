import { BaseEmbedding } from "@llamaindex/core/embeddings";
import { SentenceSplitter } from "@llamaindex/core/node-parser";
import { Document } from "@llamaindex/core/schema";
import type { InlineDocument } from "../../src/engine/sluice.ts";

/** LlamaIndex.TS's no-op counterpart of our hash-8 embedder: a constant vector. */
class NoopEmbedding extends BaseEmbedding {
  constructor() {
    super();
  }
  async getTextEmbedding(): Promise<number[]> {
    return [1, 0, 0, 0, 0, 0, 0, 0];
  }
}

/**
 * The peer: LlamaIndex.TS (@llamaindex/core) splitting the same documents with its
 * SentenceSplitter, embedding them with a no-op embedding and keeping the nodes in memory. No
 * durability, no index, no ledger: the cost floor of a pipeline that can lose everything.
 */
export async function llamaIndexInMemory(docs: InlineDocument[]): Promise<{ seconds: number; nodes: number }> {
  const started = performance.now();
  const documents = docs.map((d) => new Document({ id_: d.id, text: d.text, metadata: { title: d.title ?? "" } }));
  const nodes = new SentenceSplitter({ chunkSize: 512, chunkOverlap: 20 })(documents);
  const embedded = await new NoopEmbedding()(nodes);
  const store = new Map(embedded.map((n) => [n.id_, n]));
  return { seconds: (performance.now() - started) / 1000, nodes: store.size };
}
