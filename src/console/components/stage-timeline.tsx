import type { StageRecord } from "../../contracts/job.ts";
import { duration } from "../format.ts";

/**
 * One document's stages as a Gantt chart: a bar per stage from its start to its end (or now,
 * while it runs), on a shared time axis, with state, attempts and error in text beside it.
 */
export function StageTimeline({ stages, now }: { stages: readonly StageRecord[]; now: number }) {
  const timed = stages.filter((s) => s.startedAt);
  if (timed.length === 0) return <p class="note">No stage has started yet.</p>;
  const start = Math.min(...timed.map((s) => Date.parse(s.startedAt!)));
  const end = Math.max(...timed.map((s) => (s.finishedAt ? Date.parse(s.finishedAt) : now)), start + 1);
  const span = end - start;
  return (
    <ol class="gantt" aria-label="Stage timeline">
      {stages.map((s) => {
        const from = s.startedAt ? Date.parse(s.startedAt) : start;
        const to = s.finishedAt ? Date.parse(s.finishedAt) : s.startedAt ? now : from;
        const left = ((from - start) / span) * 100;
        const width = Math.max(0.5, ((to - from) / span) * 100);
        return (
          <li key={`${s.stage}-${s.startedAt ?? ""}`} class="gantt-row">
            <span class="gantt-name">{s.stage}</span>
            <span class="gantt-track">
              <span
                class={`gantt-bar state-${s.state.toLowerCase()}`}
                style={{ left: `${left}%`, width: `${width}%` }}
              />
            </span>
            <span class="gantt-text">
              {s.state} · {s.attempts} attempt{s.attempts === 1 ? "" : "s"} · {duration(to - from)}
              {s.error ? ` · ${s.error}` : ""}
            </span>
          </li>
        );
      })}
    </ol>
  );
}
