import { SluiceError } from "../../contracts/errors.ts";
import type { ModelCallOptions, Reranker } from "../ports.ts";

/**
 * The rerank APIs people already run: `tei` is Hugging Face Text Embeddings Inference's
 * `POST /rerank` (`{query, texts}` → `[{index, score}]`); `cohere` is the Cohere v2 shape that Jina
 * and others follow (`{model, query, documents, top_n}` → `{results: [{index, relevance_score}]}`).
 */
export type RerankApi = "tei" | "cohere";

export interface HttpRerankerOptions {
  /** The endpoint itself, e.g. http://tei:8080/rerank or https://api.cohere.com/v2/rerank. */
  url: string;
  api: RerankApi;
  /** The model to ask for (the `cohere` shape requires one). */
  model?: string;
  /** Sent as `Authorization: Bearer …`; read from the environment or a file by the caller. */
  apiKey?: string;
  /** Per call (default 10 s). */
  timeoutMs?: number;
}

/**
 * A cross-encoder reranker behind HTTP. Scores come back in the order passages were given; a
 * passage the server left out (a `top_n` smaller than asked) scores -Infinity. Network errors,
 * timeouts and 5xx/429 answers are MODEL_UNAVAILABLE; any other answer that is not the API's
 * shape is MODEL_BAD_RESPONSE, naming what was wrong.
 *
 * @example
 * const reranker = new HttpReranker({ url: "http://127.0.0.1:8080/rerank", api: "tei" });
 * const scores = await reranker.rerank("resume a job", ["resume re-runs what failed", "the gate spools"]);
 */
export class HttpReranker implements Reranker {
  readonly #options: HttpRerankerOptions;

  constructor(options: HttpRerankerOptions) {
    if (options.api === "cohere" && !options.model)
      throw new SluiceError("CONFIG_INVALID", "retrieval.rerank.http.model is required with api: cohere");
    this.#options = options;
  }

  get id(): string {
    return `${this.#options.api}:${this.#options.model ?? new URL(this.#options.url).host}`;
  }

  warmUp(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  async rerank(query: string, passages: readonly string[], options: ModelCallOptions = {}): Promise<number[]> {
    if (passages.length === 0) return [];
    const { url, api, model, apiKey } = this.#options;
    const body =
      api === "tei"
        ? { query, texts: passages, raw_scores: false }
        : { model, query, documents: passages, top_n: passages.length };
    const timeout = AbortSignal.timeout(this.#options.timeoutMs ?? 10_000);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json",
          ...(apiKey ? { authorization: `Bearer ${apiKey}` } : {}),
        },
        body: JSON.stringify(body),
        signal,
      });
    } catch (err) {
      // The caller's abort (cancel, its stage's deadline) is the caller's to name.
      if (options.signal?.aborted) throw err;
      throw new SluiceError("MODEL_UNAVAILABLE", `reranker ${url} did not answer: ${(err as Error).message}`, {
        cause: err,
      });
    }
    const text = await res.text();
    if (res.status >= 500 || res.status === 429)
      throw new SluiceError("MODEL_UNAVAILABLE", `reranker ${url} answered ${res.status}: ${text.slice(0, 200)}`);
    if (!res.ok)
      throw new SluiceError("MODEL_BAD_RESPONSE", `reranker ${url} answered ${res.status}: ${text.slice(0, 200)}`);
    return scoresFrom(api, text, passages.length, url);
  }
}

/** Scores by passage index from a TEI or Cohere-shaped answer. */
function scoresFrom(api: RerankApi, text: string, count: number, url: string): number[] {
  const bad = (what: string) =>
    new SluiceError("MODEL_BAD_RESPONSE", `reranker ${url} (${api}): ${what}: ${text.slice(0, 200)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad("not JSON");
  }
  const list = api === "tei" ? parsed : (parsed as { results?: unknown } | null)?.results;
  if (!Array.isArray(list))
    throw bad(api === "tei" ? "expected an array of {index, score}" : "expected {results: [...]}");
  const scores = new Array<number>(count).fill(-Infinity);
  for (const item of list as Array<Record<string, unknown>>) {
    const index = item?.index;
    const score = api === "tei" ? item?.score : item?.relevance_score;
    if (typeof index !== "number" || !Number.isInteger(index) || index < 0 || index >= count)
      throw bad(`index ${String(index)} is not one of the ${count} passages`);
    if (typeof score !== "number" || !Number.isFinite(score)) throw bad(`passage ${index} has no numeric score`);
    scores[index] = score;
  }
  return scores;
}
