import { useCallback, useEffect, useState } from "preact/hooks";
import { JOB_STATES } from "../../contracts/job-states.ts";
import type { Job } from "../../contracts/job.ts";
import { api, messageOf } from "../api.ts";
import { ProgressBar, StateBadge } from "../components/state-badge.tsx";
import { StateSelect } from "../components/state-select.tsx";
import { UploadForm } from "../components/upload-form.tsx";
import { count, duration, rate } from "../format.ts";
import { canCancel, canResume, cancelJob, jobCounts, resumeJob } from "../job-actions.ts";
import { isTerminal, progress } from "../job-progress.ts";
import { followEvents, type LiveEvent } from "../live-events.ts";
import { href } from "../route.ts";
import { useDebouncedCalls } from "../use-debounced-calls.ts";
import { useNow } from "../use-now.ts";
import { ErrorAlert } from "../components/error-alert.tsx";

/** Every job, newest first, live: counts, pace and ETA, with cancel and resume. */
export function JobsPage() {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [state, setState] = useState("");
  const [collection, setCollection] = useState("");

  const load = useCallback(async () => {
    const params = new URLSearchParams({ limit: "200" });
    if (state) params.set("state", state);
    if (collection.trim()) params.set("collection", collection.trim());
    try {
      setJobs((await api<{ jobs: Job[] }>(`/v1/jobs?${params}`)).jobs);
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [state, collection]);

  const replace = (job: Job) => setJobs((list) => list && list.map((j) => (j.id === job.id ? job : j)));
  const refresh = useDebouncedCalls((id) => void jobCounts(id).then(replace, () => undefined), 500);

  useEffect(() => {
    void load();
    return followEvents({
      types: ["job.*", "stage.*", "gate.*"],
      onReset: () => void load(),
      onEvent: (e: LiveEvent) => {
        if (e.type === "io.sluice.job.created") return void load();
        if (e.jobid) refresh(e.jobid);
      },
    });
  }, [load]);

  const running = (jobs ?? []).some((j) => !isTerminal(j.state));
  const now = useNow(running);

  const act = async (fn: (id: string) => Promise<Job>, id: string) => {
    try {
      replace(await fn(id));
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <main id="main">
      <UploadForm onJob={(id) => (location.hash = href({ page: "job", id }))} />
      <section class="card" aria-labelledby="jobs-title">
        <div class="row spread">
          <h2 id="jobs-title">Jobs</h2>
          <div class="row">
            <StateSelect label="Job state" states={JOB_STATES} value={state} onChange={setState} />
            <label>
              Collection
              <input
                type="search"
                value={collection}
                placeholder="any"
                onChange={(e) => setCollection(e.currentTarget.value)}
              />
            </label>
          </div>
        </div>
        <ErrorAlert message={error} />
        {jobs === null ? (
          <p>Loading…</p>
        ) : jobs.length === 0 ? (
          <p class="note">No jobs yet. Ingest files above, or run `sluice ingest`.</p>
        ) : (
          <div class="scroll-x">
            <table class="jobs">
              <thead>
                <tr>
                  <th scope="col">Job</th>
                  <th scope="col">Collection</th>
                  <th scope="col">State</th>
                  <th scope="col">Progress</th>
                  <th scope="col" class="num">
                    Total
                  </th>
                  <th scope="col" class="num">
                    Done
                  </th>
                  <th scope="col" class="num">
                    Failed
                  </th>
                  <th scope="col" class="num">
                    Waiting
                  </th>
                  <th scope="col" class="num">
                    Pace
                  </th>
                  <th scope="col" class="num">
                    ETA
                  </th>
                  <th scope="col" class="num">
                    Elapsed
                  </th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {jobs.map((job) => {
                  const p = progress(job, now);
                  return (
                    <tr key={job.id} data-job={job.id} data-state={job.state}>
                      <td>
                        <a href={href({ page: "job", id: job.id })}>{job.id}</a>
                      </td>
                      <td>{job.collection}</td>
                      <td>
                        <StateBadge state={job.state} />
                      </td>
                      <td>
                        <ProgressBar
                          fraction={p.fraction}
                          label={`${job.id}: ${count(p.finished)} of ${count(job.total)}`}
                        />
                      </td>
                      <td class="num" data-col="total">
                        {count(job.total)}
                      </td>
                      <td class="num" data-col="done">
                        {count(job.done)}
                      </td>
                      <td class="num" data-col="failed">
                        {count(job.failed)}
                      </td>
                      <td class="num" data-col="waiting">
                        {count(job.waiting)}
                      </td>
                      <td class="num">{rate(p.perSecond)}</td>
                      <td class="num">{p.etaMs === null ? "–" : duration(p.etaMs)}</td>
                      <td class="num">{duration(p.elapsedMs)}</td>
                      <td class="actions">
                        {canCancel(job) && (
                          <button
                            type="button"
                            onClick={() => void act(cancelJob, job.id)}
                            aria-label={`Cancel ${job.id}`}
                          >
                            Cancel
                          </button>
                        )}
                        {canResume(job) && (
                          <button
                            type="button"
                            onClick={() => void act(resumeJob, job.id)}
                            aria-label={`Resume ${job.id}`}
                          >
                            Resume
                          </button>
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </main>
  );
}
