export type { IndexStore, CollectionInfo, StoredChunk, ScoredRow, WriteDocumentInput } from "./index-store.ts";
export { SqliteIndexStore, assertCollectionName } from "./sqlite/sqlite-index-store.ts";
