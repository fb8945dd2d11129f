import { useCallback, useEffect, useState } from "preact/hooks";
import { api, messageOf } from "../api.ts";
import { SearchPlayground } from "../components/search-playground.tsx";
import { count } from "../format.ts";
import { href } from "../route.ts";
import { ErrorAlert } from "../components/error-alert.tsx";

interface CollectionRow {
  name: string;
  documents: number;
  chunks: number;
}
interface DocumentRow {
  docId: string;
  title: string;
  source: string;
  chunks: number;
  updatedAt: string;
}
interface ChunkRow {
  rowid: number;
  chunkId: string;
  ordinal: number;
  text: string;
  page: number | null;
}

const PAGE = 100;
const base = (c: string) => `/v1/collections/${encodeURIComponent(c)}`;

/** A document's chunks as they were indexed; `chunk` is highlighted and scrolled to (a citation's target). */
function DocumentChunks({
  collection,
  doc,
  chunk,
  onDeleted,
}: {
  collection: string;
  doc: string;
  chunk?: string;
  onDeleted: () => void;
}) {
  const [chunks, setChunks] = useState<ChunkRow[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    setChunks(null);
    api<{ chunks: ChunkRow[] }>(`${base(collection)}/documents/${encodeURIComponent(doc)}/chunks`).then(
      (res) => setChunks(res.chunks),
      (err: unknown) => setError(messageOf(err)),
    );
  }, [collection, doc]);
  useEffect(() => {
    if (chunks && chunk) document.getElementById(`chunk-${chunk}`)?.scrollIntoView({ block: "center" });
  }, [chunks, chunk]);
  const remove = async () => {
    if (!confirm(`Delete ${doc} from ${collection}? It leaves every index.`)) return;
    try {
      await api(`${base(collection)}/documents/${encodeURIComponent(doc)}`, { method: "DELETE" });
      onDeleted();
    } catch (err) {
      setError(messageOf(err));
    }
  };
  return (
    <section class="card detail" aria-labelledby="chunks-title">
      <div class="row spread">
        <h2 id="chunks-title" class="mono">
          {doc}
        </h2>
        <div class="row">
          <button type="button" onClick={() => void remove()}>
            Delete
          </button>
          <a href={href({ page: "collections", collection })}>Close</a>
        </div>
      </div>
      <ErrorAlert message={error} />
      {chunks === null ? (
        !error && <p>Loading…</p>
      ) : (
        <ol class="chunks">
          {chunks.map((c) => (
            <li
              key={c.chunkId}
              id={`chunk-${c.chunkId}`}
              class={c.chunkId === chunk ? "cited" : ""}
              data-chunk={c.chunkId}
            >
              <span class="note">
                #{c.ordinal}
                {c.page !== null ? ` · page ${c.page}` : ""} · {c.chunkId}
              </span>
              <p>{c.text}</p>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

/** Collections, their documents (find by id, title or source), a document's chunks, and the search playground. */
export function CollectionsPage({ collection, doc, chunk }: { collection?: string; doc?: string; chunk?: string }) {
  const [collections, setCollections] = useState<CollectionRow[] | null>(null);
  const [docs, setDocs] = useState<{ total: number; documents: DocumentRow[] } | null>(null);
  const [contains, setContains] = useState("");
  const [offset, setOffset] = useState(0);
  const [error, setError] = useState<string | null>(null);

  const loadCollections = useCallback(() => {
    api<{ collections: CollectionRow[] }>("/v1/collections").then(
      (res) => setCollections(res.collections),
      (err: unknown) => setError(messageOf(err)),
    );
  }, []);
  useEffect(loadCollections, [loadCollections]);

  const loadDocs = useCallback(() => {
    if (!collection) return;
    const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
    if (contains.trim()) params.set("contains", contains.trim());
    api<{ total: number; documents: DocumentRow[] }>(`${base(collection)}/documents?${params}`).then(
      (res) => {
        setDocs(res);
        setError(null);
      },
      (err: unknown) => setError(messageOf(err)),
    );
  }, [collection, contains, offset]);
  useEffect(loadDocs, [loadDocs]);

  return (
    <main id="main">
      <section class="card" aria-labelledby="collections-title">
        <h2 id="collections-title">Collections</h2>
        <ErrorAlert message={error} />
        {collections === null ? (
          <p>Loading…</p>
        ) : collections.length === 0 ? (
          <p class="note">No collection has anything indexed yet.</p>
        ) : (
          <div class="tabs" role="group" aria-label="Collection">
            {collections.map((c) => (
              <a
                key={c.name}
                class="tab"
                href={href({ page: "collections", collection: c.name })}
                aria-current={c.name === collection ? "page" : undefined}
              >
                {c.name}{" "}
                <span class="note">
                  ({count(c.documents)} docs, {count(c.chunks)} chunks)
                </span>
              </a>
            ))}
          </div>
        )}
      </section>
      {collection && <SearchPlayground key={collection} collection={collection} />}
      {collection && (
        <div class="split">
          <section class="card docs" aria-labelledby="cdocs-title">
            <div class="row spread">
              <h2 id="cdocs-title">
                Documents <span class="note">{docs ? count(docs.total) : ""}</span>
              </h2>
              <label>
                Find
                <input
                  type="search"
                  aria-label="Find by id, title or source"
                  value={contains}
                  placeholder="id, title or source"
                  onInput={(e) => {
                    setContains(e.currentTarget.value);
                    setOffset(0);
                  }}
                />
              </label>
            </div>
            {docs && (
              <>
                <div class="scroll-x">
                  <table>
                    <thead>
                      <tr>
                        <th scope="col">Document</th>
                        <th scope="col">Title</th>
                        <th scope="col" class="num">
                          Chunks
                        </th>
                        <th scope="col">Indexed</th>
                      </tr>
                    </thead>
                    <tbody>
                      {docs.documents.map((d) => (
                        <tr key={d.docId} data-doc={d.docId}>
                          <td>
                            <a href={href({ page: "collections", collection, doc: d.docId })}>{d.docId}</a>
                          </td>
                          <td>{d.title}</td>
                          <td class="num">{d.chunks}</td>
                          <td>{new Date(d.updatedAt).toLocaleString()}</td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
                <div class="row">
                  <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
                    Previous
                  </button>
                  <span class="note">
                    {docs.total === 0
                      ? "none"
                      : `${offset + 1}–${Math.min(docs.total, offset + PAGE)} of ${count(docs.total)}`}
                  </span>
                  <button type="button" disabled={offset + PAGE >= docs.total} onClick={() => setOffset(offset + PAGE)}>
                    Next
                  </button>
                </div>
              </>
            )}
          </section>
          {doc && (
            <DocumentChunks
              collection={collection}
              doc={doc}
              {...(chunk ? { chunk } : {})}
              onDeleted={() => {
                location.hash = href({ page: "collections", collection });
                loadDocs();
                loadCollections();
              }}
            />
          )}
        </div>
      )}
    </main>
  );
}
