export {
  Retriever,
  RETRIEVAL_MODES,
  type RetrievalMode,
  type RetrievedChunk,
  type RetrieveOptions,
} from "./retriever.ts";
export { rrf, convex, type RankedList } from "./fusion.ts";
export { type Answer, type Answerer, type Citation, NO_ANSWER } from "./answer/answer.ts";
export { ExtractiveAnswerer } from "./answer/extractive-answerer.ts";
export { LlmAnswerer } from "./answer/llm-answerer.ts";
