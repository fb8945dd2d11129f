/**
 * The one HTTP helper the OpenAI-compatible backends share: endpoint resolution, API-key lookup,
 * a JSON POST with timeout + caller cancellation, and the mapping of failures onto Sluice codes.
 *
 * Error mapping (used by every OpenAI-compatible backend):
 * - network failure, timeout, HTTP 408, 429 or 5xx → `MODEL_UNAVAILABLE` (retryable)
 * - any other non-2xx → `MODEL_REJECTED` carrying the server's own message (not retryable)
 * - 2xx whose body is not JSON → `MODEL_BAD_RESPONSE`
 * - the caller's own signal aborting → its `reason` is rethrown unchanged (a cancel, not a fault)
 */
import { SluiceError } from "../../contracts/errors.ts";

export type OpenAIResource = "embeddings" | "chat/completions";

/**
 * Builds the endpoint for `resource` from a configured base URL. Rule, applied to the URL path
 * after trailing slashes are removed (query string and host are kept as given):
 * 1. the path already ends with `/<resource>` → used unchanged;
 * 2. the path ends with a version segment (`/v1`, `/v2`, …) → `/<resource>` is appended;
 * 3. anything else → `/v1/<resource>` is appended.
 *
 * @example
 * resolveOpenAIEndpoint("http://localhost:11434", "embeddings");        // "http://localhost:11434/v1/embeddings"
 * resolveOpenAIEndpoint("https://api.openai.com/v1/", "embeddings");    // "https://api.openai.com/v1/embeddings"
 * resolveOpenAIEndpoint("http://h/openai/v1/embeddings", "embeddings"); // unchanged
 */
export function resolveOpenAIEndpoint(baseUrl: string, resource: OpenAIResource): string {
  const url = new URL(baseUrl);
  const path = url.pathname.replace(/\/+$/, "");
  if (path.endsWith(`/${resource}`)) url.pathname = path;
  else if (/\/v\d+$/.test(path)) url.pathname = `${path}/${resource}`;
  else url.pathname = `${path}/v1/${resource}`;
  return url.toString();
}

/**
 * Reads the API key from the environment variable named in config. No variable named → no key
 * (local servers); a variable named but unset or empty → `CONFIG_INVALID` naming it.
 *
 * @example
 * const key = readApiKey("OPENAI_API_KEY"); // throws CONFIG_INVALID if $OPENAI_API_KEY is unset
 */
export function readApiKey(apiKeyEnv: string | undefined, env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (apiKeyEnv === undefined) return undefined;
  const key = env[apiKeyEnv];
  if (key === undefined || key.trim() === "") {
    throw new SluiceError(
      "CONFIG_INVALID",
      `environment variable ${apiKeyEnv} (apiKeyEnv) is not set; it must hold the API key`,
      {
        details: { apiKeyEnv },
      },
    );
  }
  return key;
}

export interface PostJsonOptions {
  apiKey?: string | undefined;
  timeoutMs: number;
  signal?: AbortSignal | undefined;
}

/**
 * POSTs `body` as JSON and returns the parsed JSON reply, or throws a SluiceError per the mapping
 * at the top of this file.
 *
 * @example
 * const reply = await postOpenAIJson(endpoint, { model, input: ["hi"] }, { apiKey, timeoutMs: 30_000, signal });
 */
export async function postOpenAIJson(endpoint: string, body: unknown, options: PostJsonOptions): Promise<unknown> {
  options.signal?.throwIfAborted();
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const headers: Record<string, string> = { "content-type": "application/json", accept: "application/json" };
  if (options.apiKey !== undefined) headers.authorization = `Bearer ${options.apiKey}`;

  let status: number;
  let text: string;
  try {
    const res = await fetch(endpoint, { method: "POST", headers, body: JSON.stringify(body), signal });
    status = res.status;
    text = await res.text();
  } catch (err) {
    options.signal?.throwIfAborted();
    if (timeout.aborted) {
      throw new SluiceError(
        "MODEL_UNAVAILABLE",
        `model endpoint ${endpoint} did not answer within ${options.timeoutMs} ms`,
        {
          details: { endpoint, timeoutMs: options.timeoutMs },
          cause: err,
        },
      );
    }
    throw new SluiceError("MODEL_UNAVAILABLE", `model endpoint ${endpoint} unreachable: ${describeNetworkError(err)}`, {
      details: { endpoint },
      cause: err,
    });
  }

  if (status === 408 || status === 429 || status >= 500) {
    throw new SluiceError(
      "MODEL_UNAVAILABLE",
      `model endpoint ${endpoint} answered HTTP ${status}: ${serverMessage(text)}`,
      {
        details: { endpoint, status },
      },
    );
  }
  if (status < 200 || status >= 300) {
    throw new SluiceError(
      "MODEL_REJECTED",
      `model endpoint ${endpoint} rejected the request (HTTP ${status}): ${serverMessage(text)}`,
      {
        details: { endpoint, status },
      },
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new SluiceError(
      "MODEL_BAD_RESPONSE",
      `model endpoint ${endpoint} answered HTTP ${status} with a body that is not JSON`,
      {
        details: { endpoint, status, body: text.slice(0, 200) },
        cause: err,
      },
    );
  }
}

/**
 * The human part of an error body: OpenAI's `{error:{message}}`, `{error:"…"}`, `{message}`,
 * `{detail}`, or the raw text.
 */
function serverMessage(text: string): string {
  let message: unknown = text;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === "object" && parsed !== null) {
      const p = parsed as { error?: unknown; message?: unknown; detail?: unknown };
      const e = p.error;
      message =
        typeof e === "object" && e !== null && "message" in e ? e.message : (e ?? p.message ?? p.detail ?? text);
    }
  } catch {
    // not JSON: keep the raw text
  }
  const s = typeof message === "string" ? message : JSON.stringify(message);
  const trimmed = s.trim();
  if (trimmed === "") return "(empty body)";
  return trimmed.length > 500 ? `${trimmed.slice(0, 500)}…` : trimmed;
}

function describeNetworkError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    return typeof code === "string" ? `${code} ${cause.message}` : cause.message;
  }
  return err.message;
}
