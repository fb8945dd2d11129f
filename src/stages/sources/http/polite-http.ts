import { SluiceError } from "../../../contracts/errors.ts";
import { abortableSleep, TokenBucket } from "../../../pipeline/token-bucket.ts";

/** How often one host may be called. */
export interface HostLimit {
  perSecond: number;
  burst?: number;
}

/**
 * How {@link PoliteHttp} treats the hosts it calls.
 *
 * @example
 * const options: PoliteHttpOptions = {
 *   userAgent: "sluice/0.1 (mailto:me@example.org)",
 *   hosts: { "api.openalex.org": { perSecond: 10 } },
 * };
 */
export interface PoliteHttpOptions {
  /** Sent on every request; APIs ask for a contact (NCBI, OpenAlex's polite pool). */
  userAgent: string;
  /** Limits by host name; hosts not listed get `defaultLimit`. */
  hosts?: Record<string, HostLimit>;
  /** Default 1 call per second (ClinicalTrials.gov's `Crawl-delay: 1`). */
  defaultLimit?: HostLimit;
  /** 5xx, network errors, timeouts and 429s: attempts in all, with exponential backoff and full jitter. */
  retry?: { attempts: number; initialDelayMs: number; maxDelayMs: number };
  /** A 429 whose `Retry-After` asks for longer than this fails with SOURCE_RATE_LIMITED instead of waiting. */
  maxRetryAfterMs?: number;
  /** Consecutive failed calls to one host that open its breaker, and how long it stays open. */
  breaker?: { threshold: number; halfOpenAfterMs: number };
  /** Deadline of one attempt. */
  timeoutMs?: number;
  /** For tests: the fetch, the clock, the sleep and the jitter. */
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  random?: () => number;
}

/** One answer, read in full: 2xx, 3xx left unfollowed, and every 4xx but 429 (the caller maps those). */
export interface HttpReply {
  status: number;
  url: string;
  contentType: string;
  headers: Headers;
  body: string;
}

interface HostState {
  bucket: TokenBucket;
  failures: number;
  openUntil: number;
}

const DEFAULTS = {
  defaultLimit: { perSecond: 1 },
  retry: { attempts: 4, initialDelayMs: 500, maxDelayMs: 30_000 },
  maxRetryAfterMs: 120_000,
  breaker: { threshold: 5, halfOpenAfterMs: 30_000 },
  timeoutMs: 30_000,
};

/**
 * `Retry-After` in milliseconds: delta-seconds or an HTTP date; undefined when absent or unreadable.
 *
 * @example
 * retryAfterMs("120", Date.now()); // 120000
 */
export function retryAfterMs(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/**
 * The API's own reason for an error reply, for messages: a JSON body's `message`/`error` (OpenAlex,
 * Unpaywall, E-utilities), a plain-text body (ClinicalTrials.gov), else the status alone (an HTML
 * error page says nothing a message should repeat).
 *
 * @example
 * const body = '{"error":"Invalid query parameters error.","message":"DOESNTEXIST is not a valid field."}';
 * apiReason({ status: 400, contentType: "application/json", body }); // "DOESNTEXIST is not a valid field."
 */
export function apiReason(reply: Pick<HttpReply, "status" | "contentType" | "body">): string {
  const body = reply.body.trim();
  if (reply.contentType.includes("json") || body.startsWith("{")) {
    try {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      for (const key of ["message", "error", "errorMessage", "detail"]) {
        const value = parsed[key];
        if (typeof value === "string" && value.trim() !== "") return clip(value.trim());
      }
    } catch {
      // not JSON after all: fall through
    }
  }
  if (reply.contentType.includes("html") || body.startsWith("<")) return `HTTP ${reply.status}`;
  return body === "" ? `HTTP ${reply.status}` : clip(body);
}

function clip(text: string): string {
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/**
 * The HTTP client of the scholarly sources: polite and resilient per host. Every call waits for
 * its host's token bucket; a 429 waits `Retry-After` (when the API sends one, else backoff) and
 * tries again; 5xx answers, network errors and timeouts are retried with exponential backoff and
 * full jitter; consecutive failures open the host's breaker, which fails calls at once with
 * SOURCE_UNAVAILABLE until `halfOpenAfterMs` has passed and one trial call succeeds. Every other
 * answer (2xx, 4xx) is returned for the source adapter to read or to turn into SOURCE_REJECTED
 * with {@link apiReason}.
 *
 * @example
 * const http = new PoliteHttp({ userAgent: "sluice/0.1", hosts: { "api.openalex.org": { perSecond: 10 } } });
 * const reply = await http.get("https://api.openalex.org/works/W2741809807", { signal });
 */
export class PoliteHttp {
  readonly #options: PoliteHttpOptions;
  readonly #hosts = new Map<string, HostState>();
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly #random: () => number;

  constructor(options: PoliteHttpOptions) {
    this.#options = options;
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? abortableSleep;
    this.#random = options.random ?? Math.random;
  }

  #host(hostname: string): HostState {
    let state = this.#hosts.get(hostname);
    if (!state) {
      const limit = this.#options.hosts?.[hostname] ?? this.#options.defaultLimit ?? DEFAULTS.defaultLimit;
      state = {
        bucket: new TokenBucket({ ...limit, now: this.#now, sleep: this.#sleep }),
        failures: 0,
        openUntil: 0,
      };
      this.#hosts.set(hostname, state);
    }
    return state;
  }

  #backoff(attempt: number): number {
    const retry = this.#options.retry ?? DEFAULTS.retry;
    const ceiling = Math.min(retry.maxDelayMs, retry.initialDelayMs * 2 ** (attempt - 1));
    return Math.round(this.#random() * ceiling);
  }

  /** GET `url`, politely: see the class. */
  async get(url: string, options: { accept?: string; headers?: Record<string, string>; signal?: AbortSignal } = {}) {
    const target = new URL(url);
    const host = this.#host(target.hostname);
    const retry = this.#options.retry ?? DEFAULTS.retry;
    const breaker = this.#options.breaker ?? DEFAULTS.breaker;
    const timeoutMs = this.#options.timeoutMs ?? DEFAULTS.timeoutMs;
    const maxRetryAfterMs = this.#options.maxRetryAfterMs ?? DEFAULTS.maxRetryAfterMs;
    let lastProblem = "";
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      if (host.openUntil > this.#now()) {
        throw new SluiceError(
          "SOURCE_UNAVAILABLE",
          `${target.hostname}: breaker open after ${host.failures} failed calls in a row (last: ${lastProblem || "see earlier runs"}); retry after ${new Date(host.openUntil).toISOString()}`,
          { details: { host: target.hostname, retryAfterSeconds: Math.ceil((host.openUntil - this.#now()) / 1000) } },
        );
      }
      await host.bucket.take(options.signal);
      let waitMs: number;
      try {
        const reply = await this.#once(target, options, timeoutMs);
        if (reply.status === 429) {
          const asked = retryAfterMs(reply.headers.get("retry-after"), this.#now());
          lastProblem = `429 ${apiReason(reply)}`;
          if (asked !== undefined && asked > maxRetryAfterMs) {
            throw new SluiceError(
              "SOURCE_RATE_LIMITED",
              `${target.hostname} asks to wait ${Math.ceil(asked / 1000)} s before the next call (${apiReason(reply)})`,
              { details: { host: target.hostname, url, retryAfterSeconds: Math.ceil(asked / 1000) } },
            );
          }
          waitMs = asked ?? this.#backoff(attempt);
        } else if (reply.status >= 500) {
          lastProblem = `${reply.status} ${apiReason(reply)}`;
          this.#failed(host, breaker);
          waitMs = this.#backoff(attempt);
        } else {
          host.failures = 0;
          host.openUntil = 0;
          return reply;
        }
      } catch (err) {
        if (err instanceof SluiceError || options.signal?.aborted) throw err;
        lastProblem = (err as Error).message;
        this.#failed(host, breaker);
        waitMs = this.#backoff(attempt);
      }
      if (attempt >= retry.attempts) {
        throw new SluiceError(
          lastProblem.startsWith("429") ? "SOURCE_RATE_LIMITED" : "SOURCE_UNAVAILABLE",
          `${target.hostname}: ${lastProblem} (after ${attempt} attempts): ${url}`,
          { details: { host: target.hostname, url, attempts: attempt } },
        );
      }
      await this.#sleep(waitMs, options.signal);
    }
  }

  #failed(host: HostState, breaker: { threshold: number; halfOpenAfterMs: number }): void {
    host.failures++;
    if (host.failures >= breaker.threshold) host.openUntil = this.#now() + breaker.halfOpenAfterMs;
  }

  async #once(
    target: URL,
    options: { accept?: string; headers?: Record<string, string>; signal?: AbortSignal },
    timeoutMs: number,
  ): Promise<HttpReply> {
    const deadline = AbortSignal.timeout(timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
    try {
      const response = await this.#fetch(target, {
        headers: { "user-agent": this.#options.userAgent, accept: options.accept ?? "*/*", ...options.headers },
        signal,
      });
      const body = await response.text();
      return {
        status: response.status,
        url: response.url || target.href,
        contentType: response.headers.get("content-type") ?? "",
        headers: response.headers,
        body,
      };
    } catch (err) {
      if (deadline.aborted && !options.signal?.aborted)
        throw new Error(`no answer within ${timeoutMs} ms`, { cause: err });
      throw err;
    }
  }
}
