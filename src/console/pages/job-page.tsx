import { useCallback, useEffect, useMemo, useRef, useState } from "preact/hooks";
import { DOC_STATES } from "../../contracts/job-states.ts";
import type { Job, JobDocument } from "../../contracts/job.ts";
import { api, messageOf } from "../api.ts";
import { JobPipeline, JobStages } from "../components/job-stages.tsx";
import { StageTimeline } from "../components/stage-timeline.tsx";
import { StateSelect } from "../components/state-select.tsx";
import { ProgressBar, StateBadge } from "../components/state-badge.tsx";
import { VirtualRows } from "../components/virtual-rows.tsx";
import { documentReason } from "../document-reason.ts";
import { count, duration, rate } from "../format.ts";
import { canCancel, canResume, cancelJob, jobCounts, resumeJob } from "../job-actions.ts";
import { isTerminal, progress } from "../job-progress.ts";
import { followEvents, type LiveEvent } from "../live-events.ts";
import { useDebouncedCalls } from "../use-debounced-calls.ts";
import { useNow } from "../use-now.ts";
import { ErrorAlert } from "../components/error-alert.tsx";

/** Documents read per request: the API's largest page. */
const PAGE = 10_000;
/** Jobs up to this many documents are re-read whole after a burst of events; larger ones are patched. */
const RELOAD_WHOLE = PAGE;
const ROW_HEIGHT = 34;

const jobUrl = (id: string, query: string) => `/v1/jobs/${encodeURIComponent(id)}?${query}`;

/** Every document of a job, page by page; `onPage` sees each as it arrives. */
async function readDocuments(id: string, onPage: (docs: JobDocument[], job: Job) => void): Promise<void> {
  const docs: JobDocument[] = [];
  for (let offset = 0; ; offset += PAGE) {
    const job = await api<Job>(jobUrl(id, `limit=${PAGE}&offset=${offset}`));
    docs.push(...(job.documents ?? []));
    onPage(docs.slice(), job);
    if ((job.documents ?? []).length < PAGE) return;
  }
}

/** A stage event applied to the document it names (for jobs too large to re-read on every burst). */
function patch(doc: JobDocument, e: LiveEvent): JobDocument {
  const data = e.data ?? {};
  const stage = typeof data["stage"] === "string" ? data["stage"] : doc.currentStage;
  const attempt = typeof data["attempt"] === "number" ? data["attempt"] : doc.attempts;
  switch (e.type) {
    case "io.sluice.stage.started":
    case "io.sluice.stage.retrying":
      return { ...doc, state: "PROCESSING", currentStage: stage, attempts: attempt };
    case "io.sluice.stage.completed":
    case "io.sluice.stage.skipped":
      return { ...doc, currentStage: stage };
    case "io.sluice.stage.failed": {
      const err = data["error"] as { code?: string; message?: string } | undefined;
      return { ...doc, currentStage: stage, error: { code: err?.code ?? "ERROR", message: err?.message ?? "" } };
    }
    case "io.sluice.gate.suspended":
      return {
        ...doc,
        state: "WAITING",
        waiting: { stage, reason: typeof data["reason"] === "string" ? data["reason"] : "" },
      };
    default:
      return doc;
  }
}

/** One job: counts and pace, every document (virtualised), a document's reason and stage timeline. */
export function JobPage({ id }: { id: string }) {
  const [job, setJob] = useState<Job | null>(null);
  const [docs, setDocs] = useState<JobDocument[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [stateFilter, setStateFilter] = useState("");
  const [search, setSearch] = useState("");
  const [selected, setSelected] = useState<{ index: number; doc: JobDocument } | null>(null);
  const totalRef = useRef(0);

  const loadAll = useCallback(async () => {
    try {
      await readDocuments(id, (page, j) => {
        setDocs(page);
        setJob(j);
        totalRef.current = j.total;
      });
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, [id]);

  const schedule = useDebouncedCalls((what) => {
    if (what === "docs") void loadAll();
    else void jobCounts(id).then(setJob, (err: unknown) => setError(messageOf(err)));
  }, 1000);

  useEffect(() => {
    setJob(null);
    setDocs(null);
    setSelected(null);
    void loadAll();
    return followEvents({
      job: id,
      onReset: () => void loadAll(),
      onEvent: (e) => {
        const ended =
          e.type === "io.sluice.job.completed" ||
          e.type === "io.sluice.job.failed" ||
          e.type === "io.sluice.job.cancelled";
        if (ended || totalRef.current <= RELOAD_WHOLE) return schedule("docs");
        schedule("counts");
        if (e.subject) setDocs((list) => list && list.map((d) => (d.docId === e.subject ? patch(d, e) : d)));
      },
    });
  }, [id]);

  const now = useNow(job !== null && !isTerminal(job.state));
  const shown = useMemo(() => {
    if (!docs) return [];
    const needle = search.trim().toLowerCase();
    const rows: Array<{ index: number; doc: JobDocument }> = [];
    docs.forEach((doc, index) => {
      if (stateFilter && doc.state !== stateFilter) return;
      if (needle && !doc.docId.toLowerCase().includes(needle) && !doc.source.toLowerCase().includes(needle)) return;
      rows.push({ index, doc });
    });
    return rows;
  }, [docs, stateFilter, search]);

  const open = async (row: { index: number; doc: JobDocument }) => {
    setSelected(row);
    try {
      const detail = await api<Job>(jobUrl(id, `offset=${row.index}&limit=1&stages=true`));
      const doc = detail.documents?.[0];
      if (doc && doc.docId === row.doc.docId) setSelected({ index: row.index, doc });
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const act = async (fn: (id: string) => Promise<Job>) => {
    try {
      setJob(await fn(id));
      schedule("docs");
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (!job)
    return (
      <main id="main">
        <p>
          {error ? (
            <span class="error" role="alert">
              {error}
            </span>
          ) : (
            "Loading…"
          )}
        </p>
      </main>
    );
  const p = progress(job, now);
  return (
    <main id="main">
      <section class="card" aria-labelledby="job-title">
        <div class="row spread">
          <h2 id="job-title">
            Job {job.id} <StateBadge state={job.state} />
          </h2>
          <div class="row">
            {canCancel(job) && (
              <button type="button" onClick={() => void act(cancelJob)}>
                Cancel
              </button>
            )}
            {canResume(job) && (
              <button type="button" onClick={() => void act(resumeJob)}>
                {job.failed > 0 ? "Retry failed" : "Resume"}
              </button>
            )}
          </div>
        </div>
        <ProgressBar fraction={p.fraction} label={`${count(p.finished)} of ${count(job.total)} documents finished`} />
        <dl class="facts">
          <div>
            <dt>Collection</dt>
            <dd>{job.collection}</dd>
          </div>
          <div>
            <dt>Pipeline</dt>
            <dd>{job.pipelineVersion ?? job.pipeline}</dd>
          </div>
          <div>
            <dt>Total</dt>
            <dd data-count="total">{count(job.total)}</dd>
          </div>
          <div>
            <dt>Done</dt>
            <dd data-count="done">{count(job.done)}</dd>
          </div>
          <div>
            <dt>Failed</dt>
            <dd data-count="failed">{count(job.failed)}</dd>
          </div>
          <div>
            <dt>Waiting</dt>
            <dd data-count="waiting">{count(job.waiting)}</dd>
          </div>
          <div>
            <dt>Pace</dt>
            <dd>{rate(p.perSecond)}</dd>
          </div>
          <div>
            <dt>ETA</dt>
            <dd>{p.etaMs === null ? "–" : duration(p.etaMs)}</dd>
          </div>
          <div>
            <dt>Elapsed</dt>
            <dd>{duration(p.elapsedMs)}</dd>
          </div>
          {job.currentStage && (
            <div>
              <dt>Stage</dt>
              <dd>{job.currentStage}</dd>
            </div>
          )}
        </dl>
        {job.error && <p class="error">{job.error}</p>}
        <ErrorAlert message={error} />
      </section>
      <JobStages jobId={job.id} version={job.state} />
      <JobPipeline jobId={job.id} />
      <div class="split">
        <section class="card docs" aria-labelledby="docs-title">
          <div class="row spread">
            <h2 id="docs-title">
              Documents{" "}
              <span class="note">
                {docs
                  ? `${count(shown.length)} of ${count(docs.length)}${docs.length < job.total ? ` (loading ${count(job.total)})` : ""}`
                  : "loading"}
              </span>
            </h2>
            <div class="row">
              <StateSelect label="Document state" states={DOC_STATES} value={stateFilter} onChange={setStateFilter} />
              <label>
                Find
                <input
                  type="search"
                  aria-label="Find document"
                  value={search}
                  placeholder="document id"
                  onInput={(e) => setSearch(e.currentTarget.value)}
                />
              </label>
            </div>
          </div>
          <div class="vhead" aria-hidden="true">
            <span>Document</span>
            <span>State</span>
            <span>Stage</span>
            <span class="num">Tries</span>
            <span>Reason</span>
          </div>
          <VirtualRows
            rows={shown}
            rowHeight={ROW_HEIGHT}
            height={Math.min(480, Math.max(ROW_HEIGHT * 3, shown.length * ROW_HEIGHT))}
            label="Documents"
            renderRow={(row) => (
              <button
                type="button"
                key={row.doc.docId}
                class={`vrow${selected?.doc.docId === row.doc.docId ? " selected" : ""}`}
                style={{ height: `${ROW_HEIGHT}px` }}
                data-doc={row.doc.docId}
                onClick={() => void open(row)}
              >
                <span class="mono">{row.doc.docId}</span>
                <span>
                  <StateBadge state={row.doc.state} />
                </span>
                <span>{row.doc.currentStage ?? "–"}</span>
                <span class="num">{row.doc.attempts}</span>
                <span class="reason">{documentReason(row.doc)}</span>
              </button>
            )}
          />
        </section>
        {selected && (
          <section class="card detail" aria-labelledby="doc-title">
            <div class="row spread">
              <h2 id="doc-title" class="mono">
                {selected.doc.docId}
              </h2>
              <button type="button" onClick={() => setSelected(null)} aria-label="Close document">
                ✕
              </button>
            </div>
            <p>
              <StateBadge state={selected.doc.state} /> <span class="mono">{selected.doc.source}</span>
            </p>
            {documentReason(selected.doc) && (
              <p class={selected.doc.error ? "error" : "note"} data-reason>
                {documentReason(selected.doc)}
              </p>
            )}
            {selected.doc.stages ? (
              <StageTimeline stages={selected.doc.stages} now={now} />
            ) : (
              <p class="note">Loading stages…</p>
            )}
          </section>
        )}
      </div>
    </main>
  );
}
