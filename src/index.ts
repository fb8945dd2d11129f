export {
  Sluice,
  type SluiceOptions,
  type QueryRequest,
  type QueryResponse,
  type QueryResult,
  type InlineDocument,
} from "./engine/sluice.ts";
export * from "./contracts/index.ts";
export { loadConfig, parseConfig, type SluiceConfig } from "./config/index.ts";
