import type { RetrievedChunk } from "../retriever.ts";

export interface Citation {
  /** The marker number used in the answer text: `[1]`. */
  n: number;
  docId: string;
  chunkId: string;
  source: string;
  title: string;
  page: number | null;
  /** The passage text the answer drew on. */
  quote: string;
}

export interface Answer {
  text: string;
  citations: Citation[];
  /** Which backend wrote it: "extractive" or the chat model's id. */
  method: string;
}

export interface Answerer {
  answer(query: string, hits: RetrievedChunk[], options?: { signal?: AbortSignal }): Promise<Answer>;
}

export function citationFor(n: number, hit: RetrievedChunk, quote: string): Citation {
  return {
    n,
    docId: hit.chunk.docId,
    chunkId: hit.chunk.chunkId,
    source: hit.chunk.source,
    title: hit.chunk.title,
    page: hit.chunk.page,
    quote,
  };
}

export const NO_ANSWER = "No passage in this collection answers the question.";
