import { type DocState, type JobDocument, type StageRecord, WAITING_CODE } from "../contracts/job.ts";

/** A `job_documents` row as both ledger adapters read it. */
export interface DocRow {
  doc_id: string;
  source: string;
  state: DocState;
  current_stage: string | null;
  attempts: number;
  outcome: string | null;
  error_code: string | null;
  error_message: string | null;
}

/** The columns of a {@link DocRow}, for the adapters' selects. */
export const DOC_COLUMNS = "doc_id, source, state, current_stage, attempts, outcome, error_code, error_message";

/**
 * A document record as the ledger reports it, with its stage records when they were read.
 *
 * @example
 * job.documents = rows.map((d) => toJobDocument(d, stages.get(d.doc_id)));
 */
export function toJobDocument(d: DocRow, stages?: StageRecord[]): JobDocument {
  return {
    docId: d.doc_id,
    source: d.source,
    state: d.state,
    currentStage: d.current_stage,
    attempts: d.attempts,
    outcome: d.outcome,
    // A waiting document keeps its reason in the error columns under the code WAITING (see the
    // queues' `wait`); it is no error, and once the document moves on it is nothing at all.
    error:
      d.error_code && d.error_code !== WAITING_CODE ? { code: d.error_code, message: d.error_message ?? "" } : null,
    ...(d.state === "WAITING" && d.error_code === WAITING_CODE
      ? { waiting: { stage: d.current_stage, reason: d.error_message ?? "" } }
      : {}),
    ...(stages ? { stages } : {}),
  };
}
