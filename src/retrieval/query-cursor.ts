import { createHash } from "node:crypto";
import { SluiceError } from "../contracts/errors.ts";

/** Where the next page of a query starts: the collection as it was, and the query it belongs to. */
export interface QueryCursor {
  /** The collection's `createdAt#version` when the first page was answered. */
  collection: string;
  offset: number;
  /** Hash of the query and every parameter but the page. */
  query: string;
}

/** The most results a query can page through. */
export const MAX_PAGED_RESULTS = 1000;

/** A hash of what makes a query the same query (every parameter but the page). */
export function queryFingerprint(parts: readonly unknown[]): string {
  return createHash("sha256").update(JSON.stringify(parts)).digest("base64url").slice(0, 16);
}

export function encodeCursor(cursor: QueryCursor): string {
  return Buffer.from(JSON.stringify([cursor.collection, cursor.offset, cursor.query])).toString("base64url");
}

/** The cursor, or VALIDATION_FAILED when the text is not one this server wrote. */
export function decodeCursor(text: string): QueryCursor {
  try {
    const [collection, offset, query] = JSON.parse(Buffer.from(text, "base64url").toString("utf8")) as unknown[];
    if (
      typeof collection === "string" &&
      typeof query === "string" &&
      Number.isInteger(offset) &&
      (offset as number) > 0 &&
      (offset as number) < MAX_PAGED_RESULTS
    )
      return { collection, offset: offset as number, query };
  } catch {
    // falls through to the error below
  }
  throw new SluiceError("VALIDATION_FAILED", "cursor: not a cursor from a previous query's nextCursor", {
    details: { path: ["cursor"] },
  });
}
