import type { JobDocument } from "../contracts/job.ts";

/** Why a document is where it is, in plain words: its error, or what it waits for. */
export function documentReason(doc: Pick<JobDocument, "state" | "error" | "waiting" | "currentStage">): string {
  if (doc.error) return `${doc.error.code}: ${doc.error.message}`;
  if (doc.waiting) return `waiting${doc.waiting.stage ? ` in ${doc.waiting.stage}` : ""}: ${doc.waiting.reason}`;
  if (doc.state === "PROCESSING" && doc.currentStage) return `running ${doc.currentStage}`;
  return "";
}
