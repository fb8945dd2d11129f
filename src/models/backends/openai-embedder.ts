import { z } from "zod";
import type { EmbedderConfig } from "../../config/schema.ts";
import { SluiceError } from "../../contracts/errors.ts";
import { l2Normalize } from "../l2-normalize.ts";
import type { DenseEmbedder, EmbedOptions } from "../ports.ts";
import { postOpenAIJson, readApiKey, resolveOpenAIEndpoint } from "./openai-http.ts";

/**
 * The `embedder` config for `backend: "openai"`, minus the `backend` discriminator (a full config
 * variable is accepted too).
 */
export type OpenAIEmbedderConfig = Omit<Extract<EmbedderConfig, { backend: "openai" }>, "backend">;

const EmbeddingsReplySchema = z.object({
  data: z.array(z.object({ index: z.number().int().nonnegative(), embedding: z.array(z.number()) })),
});

/**
 * Dense embedder for any OpenAI-compatible `/v1/embeddings` server (OpenAI, vLLM, Ollama, TEI,
 * LiteLLM…). Sends `{ model, input: string[] }` in batches of `batchSize`, one batch at a time,
 * and checks every vector has `dimensions` entries. Vectors are re-normalised locally because
 * not every server returns unit vectors. The endpoint rule is {@link resolveOpenAIEndpoint}'s;
 * errors map as documented in `openai-http.ts`.
 *
 * The API key is read from `process.env[apiKeyEnv]` in `warmUp()` (`embed()` warms up on first
 * use); a named but unset variable is `CONFIG_INVALID`.
 *
 * @example
 * const embedder = new OpenAIEmbedder({
 *   url: "https://api.openai.com", model: "text-embedding-3-small",
 *   dimensions: 1536, apiKeyEnv: "OPENAI_API_KEY", batchSize: 64, timeoutMs: 30_000,
 * });
 * await embedder.warmUp();
 * const [vector] = await embedder.embed(["hello"]);
 */
export class OpenAIEmbedder implements DenseEmbedder {
  readonly id: string;
  readonly dimensions: number;
  private readonly config: OpenAIEmbedderConfig;
  private apiKey: string | undefined;
  private endpoint: string | undefined;

  constructor(config: OpenAIEmbedderConfig) {
    this.config = config;
    this.id = `openai:${config.model}`;
    this.dimensions = config.dimensions;
  }

  async warmUp(): Promise<void> {
    this.apiKey = readApiKey(this.config.apiKeyEnv);
    this.endpoint = resolveOpenAIEndpoint(this.config.url, "embeddings");
  }

  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    options.signal?.throwIfAborted();
    if (texts.length === 0) return [];
    if (this.endpoint === undefined) await this.warmUp();
    const out: Float32Array[] = [];
    const batchSize = options.params?.batchSize ?? this.config.batchSize;
    for (let start = 0; start < texts.length; start += batchSize) {
      options.signal?.throwIfAborted();
      const batch = texts.slice(start, start + batchSize);
      out.push(...(await this.embedBatch(batch, options.signal)));
    }
    options.signal?.throwIfAborted();
    return out;
  }

  async close(): Promise<void> {
    this.apiKey = undefined;
    this.endpoint = undefined;
  }

  private async embedBatch(batch: string[], signal: AbortSignal | undefined): Promise<Float32Array[]> {
    const endpoint = this.endpoint as string;
    const reply = await postOpenAIJson(
      endpoint,
      { model: this.config.model, input: batch },
      { apiKey: this.apiKey, timeoutMs: this.config.timeoutMs, signal },
    );
    const parsed = EmbeddingsReplySchema.safeParse(reply);
    if (!parsed.success) {
      throw new SluiceError(
        "MODEL_BAD_RESPONSE",
        `embeddings reply from ${endpoint} has an unexpected shape: ${parsed.error.issues[0]?.message ?? "invalid"}`,
        {
          details: { endpoint, model: this.config.model },
        },
      );
    }
    const data = [...parsed.data.data].sort((a, b) => a.index - b.index);
    if (data.length !== batch.length || data.some((d, i) => d.index !== i)) {
      throw new SluiceError(
        "MODEL_BAD_RESPONSE",
        `embeddings reply from ${endpoint} has ${data.length} vectors for ${batch.length} inputs (or gaps in their indices)`,
        {
          details: { endpoint, model: this.config.model, expected: batch.length, got: data.length },
        },
      );
    }
    return data.map((d) => {
      if (d.embedding.length !== this.dimensions) {
        throw new SluiceError(
          "MODEL_BAD_RESPONSE",
          `model ${this.config.model} returned a vector of wrong length: expected ${this.dimensions} dimensions (embedder.dimensions), got ${d.embedding.length}`,
          {
            details: { endpoint, model: this.config.model, expected: this.dimensions, got: d.embedding.length },
          },
        );
      }
      return l2Normalize(d.embedding);
    });
  }
}
