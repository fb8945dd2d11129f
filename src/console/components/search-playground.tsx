import { useState } from "preact/hooks";
import type { QueryResult } from "../../contracts/query.ts";
import { api, messageOf } from "../api.ts";
import { href } from "../route.ts";
import { ErrorAlert } from "./error-alert.tsx";

interface Citation {
  n: number;
  docId: string;
  chunkId: string;
  title: string;
  quote: string;
}
interface QueryAnswer {
  results: QueryResult[];
  answer?: { text: string; citations: Citation[]; method: string };
  rerankedBy?: string;
  pending?: number;
}

const MODES = ["hybrid", "lexical", "dense", "sparse"] as const;
const LISTS = ["lexical", "dense", "sparse", "fused", "rerank"] as const;

/** An answer's text with each `[n]` a link to the chunk it cites. */
function AnswerText({ collection, answer }: { collection: string; answer: NonNullable<QueryAnswer["answer"]> }) {
  const byN = new Map(answer.citations.map((c) => [c.n, c]));
  const parts = answer.text.split(/(\[\d+\])/);
  return (
    <p class="answer">
      {parts.map((part, i) => {
        const n = /^\[(\d+)\]$/.exec(part)?.[1];
        const cite = n ? byN.get(Number(n)) : undefined;
        if (!cite) return part;
        return (
          <a
            key={i}
            href={href({ page: "collections", collection, doc: cite.docId, chunk: cite.chunkId })}
            title={`${cite.title}: ${cite.quote}`}
            data-citation={cite.n}
          >
            {part}
          </a>
        );
      })}
    </p>
  );
}

/**
 * Queries a collection as `POST /v1/query` would, with its knobs (mode, k, fusion weights,
 * rerank, answer) and `explain`, so each result shows its score in every retriever's list.
 */
export function SearchPlayground({ collection }: { collection: string }) {
  const [query, setQuery] = useState("");
  const [mode, setMode] = useState<(typeof MODES)[number]>("hybrid");
  const [k, setK] = useState(10);
  const [weights, setWeights] = useState({ lexical: "", dense: "", sparse: "" });
  const [rerank, setRerank] = useState(false);
  const [answer, setAnswer] = useState(true);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [response, setResponse] = useState<QueryAnswer | null>(null);

  const search = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const w = Object.fromEntries(
      Object.entries(weights)
        .filter(([, v]) => v.trim() !== "")
        .map(([name, v]) => [name, Number(v)]),
    );
    try {
      setResponse(
        await api<QueryAnswer>("/v1/query", {
          body: {
            collection,
            query,
            mode,
            k,
            answer,
            rerank,
            explain: true,
            ...(Object.keys(w).length > 0 ? { weights: w } : {}),
          },
        }),
      );
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  const shown = LISTS.filter((l) => response?.results.some((r) => r.scores?.[l] !== undefined));
  return (
    <section class="card" aria-labelledby="search-title">
      <h2 id="search-title">Search {collection}</h2>
      <form class="row" onSubmit={(e) => void search(e)}>
        <label class="grow">
          Query
          <input type="search" value={query} required onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <label>
          Mode
          <select value={mode} onChange={(e) => setMode(e.currentTarget.value as (typeof MODES)[number])}>
            {MODES.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label>
          k
          <input
            type="number"
            min={1}
            max={100}
            value={k}
            class="short"
            onInput={(e) => setK(Number(e.currentTarget.value))}
          />
        </label>
        {(["lexical", "dense", "sparse"] as const).map((name) => (
          <label key={name}>
            {name} weight
            <input
              type="number"
              min={0}
              step={0.1}
              class="short"
              placeholder="default"
              value={weights[name]}
              onInput={(e) => setWeights({ ...weights, [name]: e.currentTarget.value })}
            />
          </label>
        ))}
        <label class="check">
          <input type="checkbox" checked={rerank} onChange={(e) => setRerank(e.currentTarget.checked)} /> rerank
        </label>
        <label class="check">
          <input type="checkbox" checked={answer} onChange={(e) => setAnswer(e.currentTarget.checked)} /> answer
        </label>
        <button type="submit" disabled={busy || query.trim() === ""}>
          {busy ? "Searching…" : "Search"}
        </button>
      </form>
      <ErrorAlert message={error} />
      {response?.pending !== undefined && (
        <p class="note">Nothing indexed yet: {response.pending} documents to come.</p>
      )}
      {response?.answer && (
        <div class="answer-box" data-answer>
          <h3>Answer</h3>
          <AnswerText collection={collection} answer={response.answer} />
        </div>
      )}
      {response && (
        <div class="scroll-x">
          <table class="results">
            <caption class="note">
              {response.results.length} results{response.rerankedBy ? `, reranked by ${response.rerankedBy}` : ""}
            </caption>
            <thead>
              <tr>
                <th scope="col" class="num">
                  #
                </th>
                <th scope="col">Document</th>
                {shown.map((l) => (
                  <th scope="col" class="num" key={l}>
                    {l}
                  </th>
                ))}
                <th scope="col">Text</th>
              </tr>
            </thead>
            <tbody>
              {response.results.map((r, i) => (
                <tr key={r.chunkId} data-result={r.chunkId}>
                  <td class="num">{i + 1}</td>
                  <td>
                    <a href={href({ page: "collections", collection, doc: r.docId, chunk: r.chunkId })}>{r.docId}</a>
                  </td>
                  {shown.map((l) => (
                    <td class="num mono" key={l} data-score={l}>
                      {r.scores?.[l] === undefined ? "–" : r.scores[l].toFixed(4)}
                    </td>
                  ))}
                  <td class="wrap">{r.text.length > 220 ? `${r.text.slice(0, 220)}…` : r.text}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
