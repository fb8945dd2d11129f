import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat, statfs } from "node:fs/promises";
import { setTimeout as sleep } from "node:timers/promises";
import { SluiceError } from "../contracts/errors.ts";
import type { DocumentRef } from "../contracts/document.ts";
import { encodeEnvelope, type EnvelopeV1 } from "../contracts/envelope.ts";
import type { GateOutcome } from "../contracts/gate-outcome.ts";
import type { AdmittedDocument, Lane, WorkQueue } from "../queue/work-queue.ts";
import { withTraceparent } from "../observability/envelope-trace.ts";
import { activeTraceparent, type Span, withSpan } from "../observability/tracing.ts";
import { classify } from "./classify.ts";

export interface GateLimits {
  /** Live spool records (waiting or leased) above which the gate pushes back. */
  maxPending: number;
  /** Bytes of live envelopes above which the gate pushes back. */
  maxBytes: number;
  /** Free space the data directory's file system must keep. */
  minFreeBytes: number;
}

export interface GateTarget {
  jobId: string;
  collection: string;
  pipeline: string;
  /** `name@<sha256 of its YAML, 12 hex>`. */
  version: string;
  lane: Lane;
}

export type { GateOutcome };

export interface GateOptions {
  queue: WorkQueue;
  dataDir: string;
  limits: GateLimits;
  maxDocumentBytes: number;
  onOutcome?: (outcome: GateOutcome, n: number) => void;
}

/** Documents per spool write (one durable transaction). */
const BATCH = 1000;
/**
 * Envelopes built between two turns of the event loop: classifying and encoding is synchronous
 * work (about 0.1 ms a document), so a whole batch at once would hold up every HTTP answer of the
 * process (health probes included) for a tenth of a second.
 */
const SLICE = 32;
const TEXT_TYPES = /^text\/(plain|markdown|html)/;

async function sha256File(path: string, size: number): Promise<{ hash: string; text?: string }> {
  if (size <= 8 * 1024 * 1024) {
    const bytes = await readFile(path);
    return {
      hash: createHash("sha256").update(bytes).digest("hex"),
      text: size <= 1024 * 1024 ? bytes.toString("utf8") : undefined,
    };
  }
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return { hash: hash.digest("hex") };
}

/**
 * The one way in: every entry point (CLI, HTTP upload, `POST /v1/jobs`, source adapters) hands
 * its documents to the gate, which validates them, classifies them (language, size, type, PII),
 * wraps each in a versioned envelope and appends it to the durable spool. Its promise resolves
 * only once the batch is on disk (synchronous=FULL), so an acknowledgement always means durable.
 * Over a limit it pushes back (BACKPRESSURE, 429 with Retry-After) instead of dropping anything.
 *
 * @example
 * const gate = new Gate({ queue, dataDir, limits, maxDocumentBytes });
 * await gate.admit(target, refs); // durable when it returns
 */
export class Gate {
  readonly #o: GateOptions;
  /** Spool figures, refreshed at most every 100 ms (they run per batch) and bumped by each admit. */
  #cache: { at: number; pending: number; bytes: number; freeBytes: number | null } | null = null;

  constructor(options: GateOptions) {
    this.#o = options;
  }

  /** Throws BACKPRESSURE when the spool is over a limit. */
  async check(): Promise<void> {
    const now = Date.now();
    if (!this.#cache || now - this.#cache.at > 100) {
      const stats = await this.#o.queue.stats().catch((err: unknown) => {
        throw storeUnavailable(err) ?? err;
      });
      const fs = await statfs(this.#o.dataDir).catch(() => null);
      this.#cache = {
        at: now,
        pending: stats.pending.high + stats.pending.normal + stats.pending.bulk,
        bytes: stats.bytes,
        freeBytes: fs ? fs.bavail * fs.bsize : null,
      };
    }
    const { limits } = this.#o;
    const { pending, bytes, freeBytes } = this.#cache;
    const push = (why: string, retryAfterSeconds: number) =>
      new SluiceError("BACKPRESSURE", `the ingest spool is full: ${why}; retry after ${retryAfterSeconds} s`, {
        details: { retryAfterSeconds, pending, bytes },
      });
    if (pending >= limits.maxPending) throw push(`${pending} documents waiting (limit ${limits.maxPending})`, 5);
    if (bytes >= limits.maxBytes) throw push(`${bytes} bytes waiting (limit ${limits.maxBytes})`, 5);
    if (freeBytes !== null && freeBytes < limits.minFreeBytes)
      throw push(`${freeBytes} bytes free on the data disk (minimum ${limits.minFreeBytes})`, 30);
  }

  async #envelope(ref: DocumentRef, target: GateTarget, traceparent: string | undefined): Promise<AdmittedDocument> {
    let payload: EnvelopeV1["payload"];
    let textHash: string;
    let text: string | undefined;
    let bytes: number | undefined;
    if (ref.kind === "file" && ref.path) {
      const size = (await stat(ref.path).catch(() => null))?.size ?? 0;
      bytes = size;
      // Files past the size limit are not read here; loading them fails with DOCUMENT_TOO_LARGE.
      const read =
        size > 0 && size <= this.#o.maxDocumentBytes
          ? await sha256File(ref.path, size)
          : { hash: createHash("sha256").digest("hex") };
      textHash = read.hash;
      if (read.text !== undefined && TEXT_TYPES.test(ref.mediaType ?? "")) text = read.text;
      payload = { kind: "file", path: ref.path, size, ...(ref.mediaType ? { media_type: ref.mediaType } : {}) };
    } else if (ref.kind === "url") {
      // Nothing is fetched at the gate: the pipeline's source.download stage does that, behind its SSRF guard.
      const url = ref.url ?? "";
      textHash = createHash("sha256").update(url).digest("hex");
      payload = { kind: "url", url, ...(ref.mediaType ? { media_type: ref.mediaType } : {}) };
    } else {
      const body = ref.text ?? "";
      text = body;
      textHash = createHash("sha256").update(body).digest("hex");
      payload = {
        kind: "inline",
        text: body,
        ...(ref.title !== undefined ? { title: ref.title } : {}),
        ...(ref.mediaType ? { media_type: ref.mediaType } : {}),
      };
    }
    const c = classify({
      ...(text !== undefined ? { text } : {}),
      ...(bytes !== undefined ? { bytes } : {}),
      ...(ref.mediaType ? { mediaType: ref.mediaType } : {}),
      ...(ref.path ? { path: ref.path } : {}),
    });
    const envelope: EnvelopeV1 = {
      v: 1,
      id: ref.id,
      source: ref.source,
      text_hash: textHash,
      char_len: text?.length ?? 0,
      tags: c.tags,
      pii: c.pii,
      lane: target.lane,
      version: target.version,
      ts_ms: Date.now(),
      // The document's run continues the trace of the request or ingest that admitted it.
      meta: withTraceparent(ref.meta, traceparent),
      job_id: target.jobId,
      collection: target.collection,
      pipeline: target.pipeline,
      payload,
    };
    return { ref, lane: target.lane, envelope: encodeEnvelope(envelope) };
  }

  /**
   * Admits documents in batches. With `pause`, a producer over a limit waits until the spool
   * drains (CLI and source adapters); without it, BACKPRESSURE is thrown to the caller (HTTP).
   * Returns the accepted ids, in order. Traced as one `sluice.gate.admit` span, whose context
   * each envelope carries (`meta["sluice.traceparent"]`) when tracing is on.
   */
  admit(
    target: GateTarget,
    refs: AsyncIterable<DocumentRef> | Iterable<DocumentRef>,
    options: { pause?: boolean; skipChecks?: boolean; signal?: AbortSignal } = {},
  ): Promise<string[]> {
    const attributes = {
      "sluice.job_id": target.jobId,
      "sluice.collection": target.collection,
      "sluice.pipeline": target.pipeline,
      "sluice.lane": target.lane,
    };
    return withSpan("sluice.gate.admit", { attributes }, (span) => this.#admit(target, refs, options, span));
  }

  async #admit(
    target: GateTarget,
    refs: AsyncIterable<DocumentRef> | Iterable<DocumentRef>,
    options: { pause?: boolean; skipChecks?: boolean; signal?: AbortSignal },
    span: Span,
  ): Promise<string[]> {
    const traceparent = activeTraceparent();
    const accepted: string[] = [];
    let batch: DocumentRef[] = [];
    const flush = async () => {
      if (batch.length === 0) return;
      // skipChecks: the caller checked the limits once for the whole request (HTTP), so that a
      // request is accepted whole or refused whole.
      for (; !options.skipChecks;) {
        try {
          await this.check();
          break;
        } catch (err) {
          if (!options.pause || !(err instanceof SluiceError) || err.code !== "BACKPRESSURE") {
            this.#o.onOutcome?.("backpressure", batch.length);
            throw err;
          }
          await sleep(200, undefined, options.signal ? { signal: options.signal } : {});
        }
      }
      const docs: AdmittedDocument[] = [];
      for (let i = 0; i < batch.length; i += SLICE) {
        if (i > 0) await new Promise<void>((resolve) => setImmediate(resolve));
        docs.push(
          ...(await Promise.all(batch.slice(i, i + SLICE).map((ref) => this.#envelope(ref, target, traceparent)))),
        );
      }
      try {
        await this.#o.queue.admit(target.jobId, docs);
      } catch (err) {
        this.#o.onOutcome?.("rejected", batch.length);
        throw diskFull(err) ?? storeUnavailable(err) ?? err;
      }
      this.#o.onOutcome?.("accepted", batch.length);
      if (this.#cache) {
        this.#cache.pending += docs.length;
        this.#cache.bytes += docs.reduce((a, d) => a + d.envelope.byteLength, 0);
      }
      for (const d of docs) accepted.push(d.ref.id);
      batch = [];
    };
    for await (const ref of refs) {
      batch.push(ref);
      if (batch.length >= BATCH) await flush();
    }
    await flush();
    span.setAttribute("sluice.gate.accepted", accepted.length);
    return accepted;
  }
}

/**
 * Connection-level failures of a database server (refused, reset, shut down, SQLSTATE class 08
 * or 57P0x) become STORE_UNAVAILABLE (503 with Retry-After); anything else is null.
 *
 * @example
 * throw storeUnavailable(err) ?? err;
 */
export function storeUnavailable(err: unknown): SluiceError | null {
  if (err instanceof SluiceError) return null;
  return connectionLost(err);
}

/** Connection-level failures of a database server (refused, reset, shut down, SQLSTATE class 08 or 57P0x). */
function connectionLost(err: unknown): SluiceError | null {
  const raw = (err as { code?: unknown }).code;
  const code = typeof raw === "string" ? raw : "";
  const message = err instanceof Error ? err.message : String(err);
  const gone =
    ["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND"].includes(code) ||
    /^08|^57P0/.test(code) ||
    /Connection terminated|connection timeout|Client has encountered a connection error/i.test(message);
  return gone
    ? new SluiceError(
        "STORE_UNAVAILABLE",
        `the ingest spool's database cannot be reached (${code || message}); nothing of this batch was accepted; retry after 5 s`,
        { cause: err, details: { retryAfterSeconds: 5 } },
      )
    : null;
}

/** SQLite's "database or disk is full" becomes backpressure: nothing was written, try later. */
function diskFull(err: unknown): SluiceError | null {
  const code = (err as { code?: unknown }).code;
  if (code === "SQLITE_FULL" || code === "ENOSPC") {
    return new SluiceError(
      "BACKPRESSURE",
      "the ingest spool's disk is full; nothing of this batch was written; retry after 30 s",
      { cause: err, details: { retryAfterSeconds: 30 } },
    );
  }
  return null;
}
