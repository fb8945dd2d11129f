import { join } from "node:path";
import { z } from "zod";
import { SluiceError, toSluiceError } from "../../contracts/errors.ts";
import { defineStage } from "../../pipeline/define-stage.ts";
import { TokenBucket } from "../../pipeline/token-bucket.ts";
import { GateWaitSchema, isAway, suspend } from "../gate-wait.ts";
import { keepFile } from "../keep-file.ts";

/** Failures that mean the host is away for now, not that the URL is wrong. */
const UNREACHABLE = new Set(["SOURCE_UNAVAILABLE", "SOURCE_RATE_LIMITED", "CIRCUIT_OPEN"]);
import { shownUrl, streamDownload } from "./http/stream-download.ts";
import { readDocument } from "./read-document.ts";

const PDF_MAGIC = "%PDF-";
const HTML_START = /^(?:\uFEFF)?\s*<(?:!doctype\s+html|html|head|body|!--)/i;

/** Refuses a body that does not start with `%PDF-`, naming an HTML landing page as such. */
function requirePdf(url: string, head: Uint8Array, reply: { finalUrl: string; contentType: string }): void {
  const text = Buffer.from(head.subarray(0, 256)).toString("latin1");
  if (text.startsWith(PDF_MAGIC)) return;
  const via = reply.finalUrl === url ? "" : ` (redirected to ${reply.finalUrl})`;
  const html = /html/i.test(reply.contentType) || HTML_START.test(text);
  const what = html
    ? "an HTML page"
    : `${reply.contentType || "an untyped body"} that does not start with ${PDF_MAGIC}`;
  throw new SluiceError("DOWNLOAD_NOT_PDF", `${url} answered ${what}${via}, not a PDF`, {
    details: { url, finalUrl: reply.finalUrl, contentType: reply.contentType },
  });
}

/**
 * Downloads a `url` document's PDF and keeps it at `<data>/downloads/<sha256>.pdf`. The SSRF guard checks every
 * hop's host (`download.allowPrivateNetworks`, `download.allowedHosts`); the body is streamed under
 * `download.maxBytes`, at most `download.maxRedirects` redirects are followed, and a body that does not start
 * with `%PDF-` (an HTML landing page) fails with `DOWNLOAD_NOT_PDF`. 4xx answers fail for good; 5xx answers,
 * network failures and timeouts are retryable, so give the node the `io` policy. The output ref keeps kind `url`,
 * gains `path` (the kept file) and `meta.sha256`, `meta.finalUrl`, `meta.bytes`.
 *
 * @example
 * nodes: [{ name: download, type: source.download, policy: io }, { name: parse, type: parse.auto }]
 * connections: [{ sender: download.document, receiver: parse.document }]
 */
export const downloadPdf = defineStage({
  type: "source.download",
  description: "Downloads a url document's PDF (SSRF-guarded, size-capped, redirects re-checked) into the data folder",
  inputs: { ref: "DocumentRef" },
  outputs: { document: "RawDocument" },
  configSchema: z
    .object({
      maxBytes: z.number().int().positive().optional(),
      maxRedirects: z.number().int().min(0).max(20).optional(),
      timeoutMs: z.number().int().positive().optional(),
      /**
       * Wait instead of failing while the PDF's host is unreachable (5xx, 429, network errors, an
       * open breaker): once `afterAttempts` attempts of the node's policy have failed, the document
       * is suspended and tried again every `recheckMs`, until `deadlineMs` after acceptance.
       */
      wait: GateWaitSchema.unwrap()
        .extend({ afterAttempts: z.number().int().positive().default(3) })
        .strict()
        .optional(),
    })
    .strict(),
  create: (config, services) => {
    const settings = services.config.download;
    const buckets = new Map<string, TokenBucket>();
    const take = (host: string, signal: AbortSignal): Promise<void> => {
      let bucket = buckets.get(host);
      if (bucket === undefined) buckets.set(host, (bucket = new TokenBucket({ perSecond: settings.perHostPerSecond })));
      return bucket.take(signal);
    };
    return {
      execute: async ({ ref }, ctx) => {
        // A source run through a PDF pipeline mixes records with text (inline) and PDF-only records (url).
        if (ref.kind !== "url")
          return {
            document: await readDocument(ref, {
              maxDocumentBytes: services.config.ingest.maxDocumentBytes,
              signal: ctx.signal,
            }),
          };
        const target = ref.url;
        if (target === undefined)
          throw new SluiceError("VALIDATION_FAILED", `${ref.source || ref.id}: a url document without a url`, {
            details: { id: ref.id, kind: ref.kind },
          });
        const url = shownUrl(target);
        const download = () =>
          streamDownload(target, {
            policy: settings,
            maxBytes: config.maxBytes ?? settings.maxBytes,
            maxRedirects: config.maxRedirects ?? settings.maxRedirects,
            timeoutMs: config.timeoutMs ?? settings.timeoutMs,
            userAgent: settings.userAgent,
            accept: "application/pdf, */*;q=0.5",
            signal: ctx.signal,
            beforeRequest: take,
            checkHead: (head, reply) => requirePdf(url, head, reply),
          });
        const body = await download().catch((err: unknown) => {
          const wait = config.wait;
          if (!wait || ctx.signal.aborted || ctx.attempt < wait.afterAttempts || !isAway(err, UNREACHABLE)) throw err;
          return suspend(
            ctx,
            wait,
            `pdf-reachable:${new URL(url).host}`,
            `the PDF is not reachable yet (${toSluiceError(err).message})`,
          );
        });
        const path = await keepFile(join(services.dataDir, "downloads"), `${body.sha256}.pdf`, body.bytes);
        const meta = { ...ref.meta, sha256: body.sha256, finalUrl: body.finalUrl, bytes: body.bytes.length };
        ctx.mark?.("pdf_downloaded");
        return { document: { ref: { ...ref, path, meta }, mediaType: "application/pdf", bytes: body.bytes } };
      },
    };
  },
});
