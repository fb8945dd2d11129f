import { createHash } from "node:crypto";

/**
 * sha256 over what the index stores of a document (`ParsedDocument.contentHash`): unchanged
 * hash ⇒ nothing to re-index. Computed by the parse stage; stores and their conformance suite
 * use it to build documents the way parsing does.
 *
 * @example
 * contentHash("Guide", "how to resume a failed job"); // 64 lower-case hex characters
 */
export function contentHash(title: string, text: string): string {
  return createHash("sha256").update(title).update("\u0000").update(text).digest("hex");
}
