export type {
  IndexStore,
  CollectionInfo,
  IndexedDocument,
  ListDocumentsOptions,
  StoredChunk,
  ScoredRow,
  WriteDocumentInput,
} from "./index-store.ts";
export { assertCollectionName } from "./index-store.ts";
export { SqliteIndexStore } from "./sqlite/sqlite-index-store.ts";
export { PostgresIndexStore, type HnswSettings } from "./postgres/postgres-index-store.ts";
