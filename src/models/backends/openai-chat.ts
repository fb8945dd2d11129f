import { z } from "zod";
import type { AnswerConfig } from "../../config/schema.ts";
import { SluiceError } from "../../contracts/errors.ts";
import type { ChatMessage, ChatModel } from "../ports.ts";
import { postOpenAIJson, readApiKey, resolveOpenAIEndpoint } from "./openai-http.ts";

/**
 * The `answer` config for `backend: "openai"`, minus the `backend` discriminator (a full config
 * variable is accepted too).
 */
export type OpenAIChatConfig = Omit<Extract<AnswerConfig, { backend: "openai" }>, "backend">;

const ChatReplySchema = z.object({
  choices: z.array(z.object({ message: z.object({ content: z.string().nullable().optional() }) })).min(1),
});

/**
 * Chat model for any OpenAI-compatible `/v1/chat/completions` server. Sends
 * `{ model, messages, max_tokens }` and returns `choices[0].message.content`. Endpoint rule and
 * error mapping are shared with the embedder (`openai-http.ts`). The API key is read from
 * `process.env[apiKeyEnv]` on the first call (or `warmUp()`); a named but unset variable is
 * `CONFIG_INVALID`.
 *
 * @example
 * const chat = new OpenAIChatModel({
 *   url: "http://localhost:11434", model: "llama3.2", timeoutMs: 60_000, maxTokens: 512,
 * });
 * const answer = await chat.complete([{ role: "user", content: "Say hi" }]);
 */
export class OpenAIChatModel implements ChatModel {
  readonly id: string;
  private readonly config: OpenAIChatConfig;
  private apiKey: string | undefined;
  private endpoint: string | undefined;

  constructor(config: OpenAIChatConfig) {
    this.config = config;
    this.id = `openai:${config.model}`;
  }

  /** Resolves the endpoint and reads the API key; `complete()` calls it when needed. */
  async warmUp(): Promise<void> {
    this.apiKey = readApiKey(this.config.apiKeyEnv);
    this.endpoint = resolveOpenAIEndpoint(this.config.url, "chat/completions");
  }

  async complete(
    messages: readonly ChatMessage[],
    options: { signal?: AbortSignal; maxTokens?: number } = {},
  ): Promise<string> {
    options.signal?.throwIfAborted();
    if (this.endpoint === undefined) await this.warmUp();
    const endpoint = this.endpoint as string;
    const body = { model: this.config.model, messages, max_tokens: options.maxTokens ?? this.config.maxTokens };
    const reply = await postOpenAIJson(endpoint, body, {
      apiKey: this.apiKey,
      timeoutMs: this.config.timeoutMs,
      signal: options.signal,
    });
    const parsed = ChatReplySchema.safeParse(reply);
    const content = parsed.success ? parsed.data.choices[0]?.message.content : undefined;
    if (typeof content !== "string") {
      throw new SluiceError("MODEL_BAD_RESPONSE", `chat reply from ${endpoint} has no choices[0].message.content`, {
        details: { endpoint, model: this.config.model },
      });
    }
    return content;
  }
}
