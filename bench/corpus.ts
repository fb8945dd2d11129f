import { spawnSync } from "node:child_process";
import { createReadStream, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CACHE = join(ROOT, "bench", ".cache");
const SCRIPT = join(ROOT, "..", "shared", "data", "make-debian-descriptions.sh");

/**
 * The benchmark corpus: Debian package descriptions in BEIR form (real text, ~64,000 documents),
 * built once by ../shared/data/make-debian-descriptions.sh into bench/.cache, or taken from
 * SLUICE_BENCH_CORPUS. Returns a .jsonl holding the first `n` documents.
 */
export async function benchCorpus(n: number): Promise<string> {
  const source = process.env["SLUICE_BENCH_CORPUS"] ?? join(CACHE, "debian", "corpus.jsonl");
  if (!existsSync(source)) {
    if (!existsSync(SCRIPT))
      throw new Error(
        `no benchmark corpus: set SLUICE_BENCH_CORPUS to a BEIR corpus.jsonl, or put ../shared beside the repo`,
      );
    process.stderr.write(`building the Debian descriptions corpus (once) with ${SCRIPT} …\n`);
    const r = spawnSync("bash", [SCRIPT, join(CACHE, "debian")], { stdio: "inherit" });
    if (r.status !== 0) throw new Error(`${SCRIPT} failed with exit code ${r.status}`);
  }
  mkdirSync(CACHE, { recursive: true });
  const out = join(CACHE, `corpus-${n}.jsonl`);
  const lines: string[] = [];
  const rl = createInterface({ input: createReadStream(source, "utf8"), crlfDelay: Infinity });
  for await (const line of rl) {
    if (!line.trim()) continue;
    lines.push(line);
    if (lines.length >= n) break;
  }
  rl.close();
  if (lines.length < n) throw new Error(`${source} has only ${lines.length} documents; ${n} asked`);
  writeFileSync(out, `${lines.join("\n")}\n`);
  return out;
}

/**
 * The Debian corpus's known-item queries (each a package's summary line) with the one document
 * each finds, in file order (bench/.cache/debian, built by {@link benchCorpus}).
 */
export function debianQueries(): Array<{ id: string; text: string; doc: string }> {
  const debian = join(CACHE, "debian");
  const relevant = new Map(
    readFileSync(join(debian, "qrels", "test.tsv"), "utf8")
      .split("\n")
      .slice(1)
      .filter(Boolean)
      .map((l) => {
        const [query = "", doc = ""] = l.split("\t");
        return [query, doc] as const;
      }),
  );
  return readFileSync(join(debian, "queries.jsonl"), "utf8")
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { _id: string; text: string })
    .map((q) => ({ id: q._id, text: q.text, doc: relevant.get(q._id) ?? "" }));
}
