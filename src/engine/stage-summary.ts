import type { StageRecord, StageSummary } from "../contracts/job.ts";

export type { StageSummary };
import type { Ledger } from "../ledger/ledger.ts";

/** Documents read per page while summarising (the ledger's stage records come with each page). */
const PAGE = 5_000;

const pick = (sorted: number[], p: number) =>
  sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/**
 * Per-stage counts and durations of a job, in the order its stages first ran: how many
 * documents each stage completed, failed, skipped or holds, its retries, and p50/p95/max of its
 * durations (nearest rank). Reads the job's documents a page at a time with their stage records.
 * Milestones a stage records (`REACHED`) are not stages and are left out.
 *
 * @example
 * const stages = await stageSummary(sluice.ledger, jobId);
 * stages.find((s) => s.stage === "parse")?.p95Ms;
 */
export async function stageSummary(ledger: Pick<Ledger, "getJob">, jobId: string): Promise<StageSummary[]> {
  const byStage = new Map<string, { records: StageRecord[]; durations: number[] }>();
  for (let offset = 0; ; offset += PAGE) {
    const job = await ledger.getJob(jobId, { documents: true, stages: true, limit: PAGE, offset });
    const docs = job.documents ?? [];
    for (const doc of docs)
      for (const record of doc.stages ?? []) {
        if (record.state === "REACHED") continue;
        let entry = byStage.get(record.stage);
        if (!entry) byStage.set(record.stage, (entry = { records: [], durations: [] }));
        entry.records.push(record);
        if (record.startedAt && record.finishedAt)
          entry.durations.push(Math.max(0, Date.parse(record.finishedAt) - Date.parse(record.startedAt)));
      }
    if (docs.length < PAGE) break;
  }
  return [...byStage].map(([stage, { records, durations }]) => {
    const sorted = durations.sort((a, b) => a - b);
    const count = (state: StageRecord["state"]) => records.filter((r) => r.state === state).length;
    return {
      stage,
      documents: records.length,
      completed: count("COMPLETED"),
      failed: count("FAILED"),
      skipped: count("SKIPPED"),
      waiting: count("WAITING"),
      running: count("RUNNING"),
      retries: records.reduce((n, r) => n + Math.max(0, r.attempts - 1), 0),
      p50Ms: pick(sorted, 50),
      p95Ms: pick(sorted, 95),
      maxMs: sorted.length ? sorted[sorted.length - 1]! : null,
    };
  });
}
