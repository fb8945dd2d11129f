import { useCallback, useEffect, useState } from "preact/hooks";
import type { QueueStats } from "../../contracts/spool.ts";
import { api, messageOf } from "../api.ts";
import { count, duration } from "../format.ts";
import { followEvents } from "../live-events.ts";
import { useDebouncedCalls } from "../use-debounced-calls.ts";
import { ErrorAlert } from "../components/error-alert.tsx";

interface DeadLetter {
  seq: number;
  jobId: string;
  docId: string;
  lane: string;
  attempts: number;
  error: string;
  createdMs: number;
}

const LANES = ["high", "normal", "bulk"] as const;

/** The spool: waiting records per lane, the oldest one's age, and the dead-letter lane with retry and drop. */
export function SpoolPage() {
  const [stats, setStats] = useState<QueueStats | null>(null);
  const [letters, setLetters] = useState<DeadLetter[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const [s, d] = await Promise.all([
        api<QueueStats>("/v1/spool"),
        api<{ deadLetters: DeadLetter[] }>("/v1/spool/dlq?limit=1000"),
      ]);
      setStats(s);
      setLetters(d.deadLetters);
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  }, []);
  const schedule = useDebouncedCalls(() => void load(), 1000);

  useEffect(() => {
    void load();
    return followEvents({
      types: ["job.*", "stage.*", "gate.*"],
      onReset: () => void load(),
      onEvent: () => schedule("spool"),
    });
  }, [load]);

  const retry = async (letter: DeadLetter) => {
    try {
      await api(`/v1/spool/dlq/${letter.seq}/retry`, { method: "POST" });
      setNotice(`${letter.docId} is back in the ${letter.lane} lane`);
      await load();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  const drop = async (letter: DeadLetter) => {
    if (!confirm(`Drop ${letter.docId} for good? Its document will not be indexed.`)) return;
    try {
      await api(`/v1/spool/dlq/${letter.seq}`, { method: "DELETE" });
      setNotice(`${letter.docId} dropped`);
      await load();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <main id="main">
      <section class="card" aria-labelledby="spool-title">
        <h2 id="spool-title">Spool</h2>
        <ErrorAlert message={error} />
        {notice && (
          <p class="ok" role="status">
            {notice}
          </p>
        )}
        {stats && (
          <dl class="facts">
            {LANES.map((lane) => (
              <div key={lane}>
                <dt>{lane} lane</dt>
                <dd data-lane={lane}>
                  {count(stats.pending[lane])} waiting
                  {stats.oldestAgeSecondsByLane[lane] > 0
                    ? `, oldest ${duration(stats.oldestAgeSecondsByLane[lane] * 1000)}`
                    : ""}
                </dd>
              </div>
            ))}
            <div>
              <dt>Oldest waiting</dt>
              <dd>{stats.oldestAgeSeconds > 0 ? duration(stats.oldestAgeSeconds * 1000) : "–"}</dd>
            </div>
            <div>
              <dt>Running</dt>
              <dd>{count(stats.leased)}</dd>
            </div>
            <div>
              <dt>Parked</dt>
              <dd>{count(stats.waiting)}</dd>
            </div>
            <div>
              <dt>Suspects</dt>
              <dd>{count(stats.suspects)}</dd>
            </div>
            <div>
              <dt>Dead letters</dt>
              <dd data-count="dead">{count(stats.dead)}</dd>
            </div>
            <div>
              <dt>On disk</dt>
              <dd>{(stats.bytes / 1_048_576).toFixed(1)} MB</dd>
            </div>
          </dl>
        )}
      </section>
      <section class="card" aria-labelledby="dlq-title">
        <h2 id="dlq-title">Dead letters</h2>
        {letters === null ? (
          <p>Loading…</p>
        ) : letters.length === 0 ? (
          <p class="note">None: every document the spool took was indexed or is on its way.</p>
        ) : (
          <div class="scroll-x">
            <table>
              <thead>
                <tr>
                  <th scope="col">Document</th>
                  <th scope="col">Job</th>
                  <th scope="col">Lane</th>
                  <th scope="col" class="num">
                    Attempts
                  </th>
                  <th scope="col">Reason</th>
                  <th scope="col">Since</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {letters.map((l) => (
                  <tr key={l.seq} data-seq={l.seq} data-doc={l.docId}>
                    <td class="mono">{l.docId}</td>
                    <td>
                      <a href={`#/jobs/${encodeURIComponent(l.jobId)}`}>{l.jobId}</a>
                    </td>
                    <td>{l.lane}</td>
                    <td class="num">{l.attempts}</td>
                    <td class="wrap">{l.error}</td>
                    <td>{new Date(l.createdMs).toLocaleString()}</td>
                    <td class="actions">
                      <button type="button" onClick={() => void retry(l)} aria-label={`Retry ${l.docId}`}>
                        Retry
                      </button>
                      <button type="button" onClick={() => void drop(l)} aria-label={`Drop ${l.docId}`}>
                        Drop
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </main>
  );
}
