import { useEffect, useState } from "preact/hooks";
import type { StageSummary } from "../../contracts/job.ts";
import { api, messageOf } from "../api.ts";
import { count, duration } from "../format.ts";
import type { PipelineView } from "../pipeline-view.ts";
import { PipelineDag } from "./pipeline-dag.tsx";

const ms = (v: number | null) => (v === null ? "–" : v < 1000 ? `${Math.round(v)} ms` : duration(v));

/**
 * Per-stage counts and p50/p95/max durations (`GET /v1/jobs/{id}/stages`), read when opened and
 * again when `version` (the job's state) moves.
 */
export function JobStages({ jobId, version }: { jobId: string; version: string }) {
  const [open, setOpen] = useState(false);
  const [stages, setStages] = useState<StageSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!open) return;
    api<{ stages: StageSummary[] }>(`/v1/jobs/${encodeURIComponent(jobId)}/stages`).then(
      (res) => setStages(res.stages),
      (err: unknown) => setError(messageOf(err)),
    );
  }, [open, jobId, version]);
  return (
    <details class="card" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Stages: counts and durations</summary>
      {error && <p class="error">{error}</p>}
      {open && stages === null && !error && <p>Loading…</p>}
      {stages && (
        <div class="scroll-x">
          <table data-stage-summary>
            <thead>
              <tr>
                <th scope="col">Stage</th>
                <th scope="col" class="num">
                  Documents
                </th>
                <th scope="col" class="num">
                  Completed
                </th>
                <th scope="col" class="num">
                  Failed
                </th>
                <th scope="col" class="num">
                  Skipped
                </th>
                <th scope="col" class="num">
                  Waiting
                </th>
                <th scope="col" class="num">
                  Retries
                </th>
                <th scope="col" class="num">
                  p50
                </th>
                <th scope="col" class="num">
                  p95
                </th>
                <th scope="col" class="num">
                  max
                </th>
              </tr>
            </thead>
            <tbody>
              {stages.map((s) => (
                <tr key={s.stage} data-stage={s.stage}>
                  <td>{s.stage}</td>
                  <td class="num">{count(s.documents)}</td>
                  <td class="num">{count(s.completed)}</td>
                  <td class="num" data-col="failed">
                    {count(s.failed)}
                  </td>
                  <td class="num">{count(s.skipped)}</td>
                  <td class="num">{count(s.waiting)}</td>
                  <td class="num">{count(s.retries)}</td>
                  <td class="num">{ms(s.p50Ms)}</td>
                  <td class="num">{ms(s.p95Ms)}</td>
                  <td class="num">{ms(s.maxMs)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </details>
  );
}

/** The pipeline snapshot a job runs (`GET /v1/jobs/{id}/pipeline`): its DAG and YAML, read when opened. */
export function JobPipeline({ jobId }: { jobId: string }) {
  const [open, setOpen] = useState(false);
  const [view, setView] = useState<(PipelineView & { version: string; yaml: string }) | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    if (!open || view) return;
    api<PipelineView & { version: string; yaml: string }>(`/v1/jobs/${encodeURIComponent(jobId)}/pipeline`).then(
      setView,
      (err: unknown) => setError(messageOf(err)),
    );
  }, [open, jobId]);
  return (
    <details class="card" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Pipeline snapshot</summary>
      {error && <p class="error">{error}</p>}
      {open && !view && !error && <p>Loading…</p>}
      {view && (
        <div data-job-pipeline={view.version}>
          <p class="note">
            <span class="mono">{view.version}</span>: the YAML this job was created with; its documents run it whatever
            the file says now.
          </p>
          <PipelineDag view={view} />
          <pre class="yaml">{view.yaml}</pre>
        </div>
      )}
    </details>
  );
}
