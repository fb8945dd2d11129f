export {
  loadConfig,
  loadConfigWithSources,
  parseConfig,
  type ConfigSource,
  type ConfigWithSources,
  type LoadConfigOptions,
} from "./load-config.ts";
export { ENV_OVERRIDES, type EnvOverride } from "./env-overrides.ts";
export {
  SluiceConfigSchema,
  EmbedderConfigSchema,
  AnswerConfigSchema,
  RetrievalConfigSchema,
  type SluiceConfig,
  type EmbedderConfig,
} from "./schema.ts";
