import { useEffect, useState } from "preact/hooks";
import type { ModelPlaneStatus as ModelStatus } from "../../models/model-status.ts";
import { api, messageOf } from "../api.ts";
import { StateBadge } from "../components/state-badge.tsx";
import { duration } from "../format.ts";
import { ErrorAlert } from "../components/error-alert.tsx";

/** Where inference runs, each service's model, health and residency, and the queue to a model server. */
export function ModelsPage() {
  const [status, setStatus] = useState<ModelStatus | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [asked, setAsked] = useState(0);
  useEffect(() => {
    api<ModelStatus>("/v1/models").then(setStatus, (err: unknown) => setError(messageOf(err)));
  }, [asked]);
  return (
    <main id="main">
      <section class="card" aria-labelledby="models-title">
        <div class="row spread">
          <h2 id="models-title">Models</h2>
          <button type="button" onClick={() => setAsked(asked + 1)}>
            Ask again
          </button>
        </div>
        <ErrorAlert message={error} />
        {status && (
          <>
            <p data-mode={status.mode}>
              {status.mode === "remote"
                ? `Model server ${status.address ?? ""}${status.serverVersion ? ` (${status.serverVersion})` : ""}`
                : "In this process: each model loads on its first call."}
            </p>
            {status.error && (
              <p class="error" role="alert">
                {status.error}
              </p>
            )}
            {status.queue && (
              <dl class="facts">
                <div>
                  <dt>Calls in flight</dt>
                  <dd>{status.queue.inFlight}</dd>
                </div>
                <div>
                  <dt>Waiting</dt>
                  <dd>{status.queue.waiting}</dd>
                </div>
                <div>
                  <dt>Window</dt>
                  <dd>{status.queue.window}</dd>
                </div>
              </dl>
            )}
            <div class="scroll-x">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Service</th>
                    <th scope="col">Model</th>
                    <th scope="col">Health</th>
                    <th scope="col">Residency</th>
                    <th scope="col">Device</th>
                    <th scope="col" class="num">
                      Dimensions
                    </th>
                    <th scope="col" class="num">
                      Idle / keep-alive
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {status.services.map((s) => (
                    <tr key={s.service} data-service={s.service}>
                      <td>{s.service}</td>
                      <td class="mono">{s.model}</td>
                      <td>
                        <StateBadge
                          state={s.health === "SERVING" || s.health === "IN_PROCESS" ? "COMPLETED" : "FAILED"}
                        />{" "}
                        {s.health}
                      </td>
                      <td>{s.residency}</td>
                      <td>{s.device}</td>
                      <td class="num">{s.dimensions ?? "–"}</td>
                      <td class="num">
                        {s.keepAliveMs !== undefined ? `${duration(s.idleMs ?? 0)} / ${duration(s.keepAliveMs)}` : "–"}
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            {status.gpus.length > 0 && (
              <ul>
                {status.gpus.map((g) => (
                  <li key={g.index}>
                    GPU {g.index} {g.name}: {g.memoryUsedMib} of {g.memoryTotalMib} MiB used
                  </li>
                ))}
              </ul>
            )}
          </>
        )}
      </section>
    </main>
  );
}
