import { useRef, useState } from "preact/hooks";
import { api, messageOf } from "../api.ts";
import { ErrorAlert } from "./error-alert.tsx";

/** What the API takes in a multipart upload (src/text/detect-media-type.ts); other files of a folder are left out. */
const SUPPORTED = [".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".jsonl"];
const supported = (name: string) => SUPPORTED.some((ext) => name.toLowerCase().endsWith(ext));

/**
 * Upload files or a whole folder into a collection (`POST /v1/collections/{c}/documents`,
 * multipart); on 202 it opens the new job's page.
 */
export function UploadForm({ onJob }: { onJob: (jobId: string) => void }) {
  const [collection, setCollection] = useState("default");
  const [files, setFiles] = useState<File[]>([]);
  const [skipped, setSkipped] = useState<string[]>([]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const form = useRef<HTMLFormElement>(null);

  const pick = (list: FileList | null) => {
    const all = [...(list ?? [])];
    setFiles(all.filter((f) => supported(f.name)));
    setSkipped(all.filter((f) => !supported(f.name)).map((f) => f.webkitRelativePath || f.name));
    setError(null);
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    if (files.length === 0) return setError("choose files or a folder first");
    const body = new FormData();
    for (const f of files) body.append("files", f, f.name);
    setBusy(true);
    setError(null);
    try {
      const res = await api<{ jobId: string }>(`/v1/collections/${encodeURIComponent(collection)}/documents`, {
        body,
      });
      form.current?.reset();
      setFiles([]);
      setSkipped([]);
      onJob(res.jobId);
    } catch (err) {
      setError(messageOf(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <form ref={form} class="card upload" onSubmit={(e) => void submit(e)} aria-labelledby="upload-title">
      <h2 id="upload-title">Ingest files</h2>
      <div class="row">
        <label>
          Collection
          <input
            name="collection"
            value={collection}
            required
            pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*"
            onInput={(e) => setCollection(e.currentTarget.value)}
          />
        </label>
        <label>
          Files
          <input type="file" name="files" multiple onChange={(e) => pick(e.currentTarget.files)} />
        </label>
        <label>
          Folder
          <input
            type="file"
            name="folder"
            multiple
            // Chromium, Firefox and Safari read the attribute; the DOM typings lack it.
            {...{ webkitdirectory: true }}
            onChange={(e) => pick(e.currentTarget.files)}
          />
        </label>
        <button type="submit" disabled={busy || files.length === 0}>
          {busy
            ? "Uploading…"
            : files.length === 0
              ? "Ingest files"
              : `Ingest ${files.length} file${files.length === 1 ? "" : "s"}`}
        </button>
      </div>
      {skipped.length > 0 && (
        <p class="note">
          Left out (not {SUPPORTED.join(", ")}): {skipped.slice(0, 5).join(", ")}
          {skipped.length > 5 ? ` and ${skipped.length - 5} more` : ""}
        </p>
      )}
      <ErrorAlert message={error} />
    </form>
  );
}
