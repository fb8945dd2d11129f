import { useEffect, useState } from "preact/hooks";
import { api, messageOf } from "../api.ts";
import { PipelineDag } from "../components/pipeline-dag.tsx";
import { policySummary, type PipelineView } from "../pipeline-view.ts";
import { ErrorAlert } from "../components/error-alert.tsx";

/** One pipeline: its DAG, its error against the node, and its nodes in a table. */
function PipelineDetail({ view }: { view: PipelineView }) {
  return (
    <div class="pipeline" data-pipeline={view.name}>
      <p class="note">
        {view.kind ?? "not buildable"} pipeline · <span class="mono">{view.source}</span>
        {view.description ? ` · ${view.description}` : ""}
      </p>
      {view.error && (
        <p class="error" role="alert" data-error-node={view.error.node ?? ""}>
          {view.error.node && !view.error.message.includes(`node "${view.error.node}"`)
            ? `Node "${view.error.node}": `
            : ""}
          {view.error.code}: {view.error.message}
        </p>
      )}
      {view.nodes.length > 0 && <PipelineDag view={view} />}
      {view.nodes.length > 0 && (
        <div class="scroll-x">
          <table>
            <caption class="note">Nodes in run order; ✓ keeps a checkpoint for resume</caption>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Stage type</th>
                <th scope="col">Policy</th>
                <th scope="col">Inputs</th>
              </tr>
            </thead>
            <tbody>
              {view.nodes.map((n) => (
                <tr key={n.name} class={view.error?.node === n.name ? "row-bad" : ""}>
                  <td>
                    {n.name}
                    {n.checkpoint ? " ✓" : ""}
                  </td>
                  <td class="mono">{n.type}</td>
                  <td>{n.policy ? `${n.policy} (${policySummary(view.policies[n.policy])})` : "–"}</td>
                  <td>
                    {n.inputs
                      .map((i) => `${i.port}: ${i.type}${i.optional ? "?" : ""}${i.fromRun ? " (run)" : ""}`)
                      .join(", ") || "–"}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

/** Every pipeline as a DAG, and a YAML checker that shows a pipeline's error against its node. */
export function PipelinesPage() {
  const [views, setViews] = useState<PipelineView[] | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [yaml, setYaml] = useState("");
  const [checked, setChecked] = useState<PipelineView | null>(null);

  useEffect(() => {
    api<{ pipelines: PipelineView[] }>("/v1/pipelines").then(
      (res) => {
        setViews(res.pipelines);
        setSelected((s) => s ?? res.pipelines[0]?.name ?? null);
      },
      (err: unknown) => setError(messageOf(err)),
    );
  }, []);

  const check = async (e: Event) => {
    e.preventDefault();
    try {
      setChecked(await api<PipelineView>("/v1/pipelines/validate", { body: { yaml } }));
      setError(null);
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const view = views?.find((v) => v.name === selected);
  return (
    <main id="main">
      <section class="card" aria-labelledby="pipelines-title">
        <h2 id="pipelines-title">Pipelines</h2>
        <ErrorAlert message={error} />
        {views === null ? (
          <p>Loading…</p>
        ) : (
          <>
            <div class="tabs" role="group" aria-label="Pipeline">
              {views.map((v) => (
                <button
                  type="button"
                  key={v.name}
                  aria-pressed={v.name === selected}
                  class={v.valid ? "" : "tab-bad"}
                  onClick={() => setSelected(v.name)}
                >
                  {v.name}
                  {v.valid ? "" : " (invalid)"}
                </button>
              ))}
            </div>
            {view && <PipelineDetail view={view} />}
          </>
        )}
      </section>
      <form class="card" aria-labelledby="check-title" onSubmit={(e) => void check(e)}>
        <h2 id="check-title">Check a pipeline</h2>
        <label class="block">
          Pipeline YAML
          <textarea
            rows={10}
            spellcheck={false}
            value={yaml}
            onInput={(e) => setYaml(e.currentTarget.value)}
            placeholder={"version: 1\nname: mine\ninputs: [load.ref]\nnodes:\n  - name: load\n    type: source.load"}
          />
        </label>
        <div class="row">
          <button type="submit" disabled={yaml.trim() === ""}>
            Check
          </button>
          {checked && (
            <span class={checked.valid ? "ok" : "error"} data-checked={checked.valid ? "valid" : "invalid"}>
              {checked.valid ? `valid ${checked.kind} pipeline "${checked.name}"` : "invalid"}
            </span>
          )}
        </div>
        {checked && <PipelineDetail view={checked} />}
      </form>
    </main>
  );
}
