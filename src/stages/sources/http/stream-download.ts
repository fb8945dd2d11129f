import { createHash } from "node:crypto";
import { request as httpRequest, type IncomingMessage } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupAddress } from "node:dns";
import { isSluiceError, SluiceError } from "../../../contracts/errors.ts";
import { pinnedLookup, vetHost, type ResolveAll, type SsrfPolicy } from "../ssrf-guard.ts";

/**
 * Options for {@link streamDownload}.
 *
 * @example
 * const options: StreamDownloadOptions = {
 *   policy: { allowPrivateNetworks: false, allowedHosts: [] },
 *   maxBytes: 100 << 20, maxRedirects: 5, timeoutMs: 60_000, userAgent: "sluice/0.1",
 * };
 */
export interface StreamDownloadOptions {
  policy: SsrfPolicy;
  /** Largest body accepted: a bigger Content-Length is refused unread, a longer stream is cut off. */
  maxBytes: number;
  maxRedirects: number;
  /** The whole download, every hop and the body included. */
  timeoutMs: number;
  userAgent: string;
  accept?: string;
  signal?: AbortSignal;
  /** Awaited before each request with the target's host (a per-host rate limit). */
  beforeRequest?: (host: string, signal: AbortSignal) => Promise<void>;
  /**
   * Looks at the body's first bytes (at least 5, fewer only if the body is shorter) before the rest is read;
   * throwing aborts the download.
   */
  checkHead?: (head: Uint8Array, reply: { finalUrl: string; contentType: string }) => void;
  /** DNS for tests. */
  resolveAll?: ResolveAll;
}

/**
 * A downloaded body with its sha256 and where it finally came from.
 *
 * @example
 * const body: StreamedBody = await streamDownload(url, options);
 */
export interface StreamedBody {
  finalUrl: string;
  contentType: string;
  bytes: Uint8Array<ArrayBuffer>;
  sha256: string;
  redirects: number;
}

const HEAD_BYTES = 5;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** A URL fit for messages and logs: credentials removed. */
export function shownUrl(url: URL | string): string {
  const u = new URL(url);
  u.username = "";
  u.password = "";
  return u.href;
}

function tooLarge(url: string, bytes: number, limit: number, how: string): SluiceError {
  return new SluiceError(
    "DOCUMENT_TOO_LARGE",
    `${url}: body ${how} ${bytes} bytes, over the ${limit}-byte limit (download.maxBytes)`,
    { details: { url, bytes, limit } },
  );
}

function statusError(url: string, status: number, reason: string | undefined): SluiceError {
  const message = `${url} answered ${status}${reason ? ` ${reason}` : ""}`;
  const details = { url, status };
  if (status === 429) return new SluiceError("SOURCE_RATE_LIMITED", message, { details });
  if (status >= 500 || status === 408) return new SluiceError("SOURCE_UNAVAILABLE", message, { details });
  return new SluiceError("SOURCE_REJECTED", message, { details });
}

function open(target: URL, addresses: LookupAddress[], options: StreamDownloadOptions, signal: AbortSignal) {
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      target,
      {
        method: "GET",
        // No pooled sockets: each connection goes to the address vetted for this hop.
        agent: false,
        lookup: pinnedLookup(addresses),
        headers: { "user-agent": options.userAgent, accept: options.accept ?? "*/*" },
        signal,
      },
      resolve,
    );
    req.on("error", reject);
    req.end();
  });
}

async function readBody(
  res: IncomingMessage,
  shown: string,
  finalUrl: string,
  options: StreamDownloadOptions,
): Promise<Omit<StreamedBody, "redirects">> {
  const contentType = String(res.headers["content-type"] ?? "");
  const announced = Number(res.headers["content-length"]);
  if (Number.isFinite(announced) && announced > options.maxBytes) {
    res.destroy();
    throw tooLarge(shown, announced, options.maxBytes, "announced as");
  }
  const hash = createHash("sha256");
  const chunks: Buffer[] = [];
  let size = 0;
  let headChecked = options.checkHead === undefined;
  for await (const chunk of res as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > options.maxBytes) throw tooLarge(shown, size, options.maxBytes, "passed");
    hash.update(chunk);
    chunks.push(chunk);
    if (!headChecked && size >= HEAD_BYTES) {
      options.checkHead!(Buffer.concat(chunks), { finalUrl, contentType });
      headChecked = true;
    }
  }
  const all = Buffer.concat(chunks, size);
  if (!headChecked && size > 0) options.checkHead!(all, { finalUrl, contentType });
  const bytes = new Uint8Array(all.buffer, all.byteOffset, all.byteLength);
  return { finalUrl, contentType, bytes, sha256: hash.digest("hex") };
}

/** Network failures (refused, reset, timed out) are worth a retry; certificate failures are not. */
function networkError(err: unknown, shown: string): SluiceError {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  const message = `${shown}: ${err instanceof Error ? err.message : String(err)}`;
  const tls = /CERT|SSL|TLS|SELF_SIGNED|ALTNAME/.test(code);
  return new SluiceError(tls ? "SOURCE_REJECTED" : "SOURCE_UNAVAILABLE", message, {
    details: { url: shown, ...(code ? { errorCode: code } : {}) },
    cause: err,
  });
}

/**
 * Downloads a URL with `node:http(s)`, streaming: each hop's host is resolved and checked by the SSRF guard and
 * connected to only at the vetted addresses; at most `maxRedirects` redirects are followed; a Content-Length over
 * `maxBytes` is refused unread and a longer stream is cut off as soon as it passes; the sha256 is computed as the
 * bytes arrive.
 *
 * @throws SluiceError `DOWNLOAD_FORBIDDEN` (a hop's host is not public), `DOCUMENT_TOO_LARGE`, `DOCUMENT_EMPTY`,
 *   `SOURCE_REJECTED` (4xx, too many redirects, a redirect off http(s), a bad certificate: not retryable),
 *   `SOURCE_UNAVAILABLE` (5xx, 408, network failures, the timeout: retryable), `SOURCE_RATE_LIMITED` (429), or
 *   whatever `checkHead` throws; a cancelled `signal` rethrows its reason
 *
 * @example
 * const { bytes, sha256, finalUrl } = await streamDownload("https://example.org/a.pdf", options);
 */
export async function streamDownload(url: string, options: StreamDownloadOptions): Promise<StreamedBody> {
  const deadline = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, deadline]) : deadline;
  let target = new URL(url);
  let shown = shownUrl(target);
  try {
    for (let redirects = 0; ; redirects++) {
      if (target.protocol !== "http:" && target.protocol !== "https:")
        throw new SluiceError("SOURCE_REJECTED", `${shown}: only http and https downloads are supported`, {
          details: { url: shown },
        });
      const addresses = await vetHost(target.hostname, options.policy, options.resolveAll);
      await options.beforeRequest?.(target.host, signal);
      const res = await open(target, addresses, options, signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location !== undefined) {
        res.destroy();
        const next = new URL(location, target);
        if (redirects >= options.maxRedirects)
          throw new SluiceError(
            "SOURCE_REJECTED",
            `${shownUrl(url)}: too many redirects (more than ${options.maxRedirects}, download.maxRedirects); ` +
              `the last pointed to ${shownUrl(next)}`,
            { details: { url: shownUrl(url), redirects: redirects + 1, limit: options.maxRedirects } },
          );
        target = next;
        shown = shownUrl(target);
        continue;
      }
      if (status < 200 || status > 299) {
        res.destroy();
        throw statusError(shown, status, res.statusMessage);
      }
      const body = await readBody(res, shown, shown, options);
      if (body.bytes.length === 0)
        throw new SluiceError("DOCUMENT_EMPTY", `${shown}: empty body`, { details: { url: shown } });
      return { ...body, redirects };
    }
  } catch (err) {
    if (options.signal?.aborted) throw options.signal.reason;
    if (isSluiceError(err)) throw err;
    if (deadline.aborted)
      throw new SluiceError("SOURCE_UNAVAILABLE", `${shown}: download not finished within ${options.timeoutMs} ms`, {
        details: { url: shown, timeoutMs: options.timeoutMs },
        cause: err,
      });
    throw networkError(err, shown);
  }
}
