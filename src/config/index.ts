export { loadConfig, parseConfig } from "./load-config.ts";
export { SluiceConfigSchema, EmbedderConfigSchema, AnswerConfigSchema, RetrievalConfigSchema, type SluiceConfig, type EmbedderConfig } from "./schema.ts";
