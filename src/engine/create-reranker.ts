import type { RetrievalConfig } from "../config/schema.ts";
import { SluiceError } from "../contracts/errors.ts";
import { HttpReranker } from "../models/backends/http-reranker.ts";
import type { ModelPlane } from "../models/model-plane.ts";
import type { Reranker } from "../models/ports.ts";

/**
 * The reranker `retrieval.rerank.backend` names: the model plane's (`models`), or an HTTP rerank
 * API (`http`), its key read from the environment variable `apiKeyEnv` names.
 *
 * @example
 * const reranker = createReranker(config.retrieval.rerank, models, process.env);
 */
export function createReranker(
  rerank: RetrievalConfig["rerank"],
  models: ModelPlane,
  env: NodeJS.ProcessEnv,
): Reranker {
  const { backend, http } = rerank;
  if (backend !== "http" || !http) return models.reranker();
  const apiKey = http.apiKeyEnv ? env[http.apiKeyEnv] : undefined;
  if (http.apiKeyEnv && !apiKey)
    throw new SluiceError(
      "CONFIG_INVALID",
      `retrieval.rerank.http.apiKeyEnv names ${http.apiKeyEnv}, which is not set in the environment`,
    );
  return new HttpReranker({
    url: http.url,
    api: http.api,
    timeoutMs: http.timeoutMs,
    ...(http.model ? { model: http.model } : {}),
    ...(apiKey ? { apiKey } : {}),
  });
}
