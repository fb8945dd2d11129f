import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../src/config/load-config.ts";
import type { Job } from "../src/contracts/index.ts";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../src/db/postgres/postgres.fixture.ts";
import { migrateToPostgres, type MigrationReport } from "../src/engine/migrate/migrate-to-postgres.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { postgresStores } from "../src/queue/postgres/postgres-stores.ts";
import type { IndexStore } from "../src/store/index-store.ts";
import { PostgresIndexStore } from "../src/store/postgres/postgres-index-store.ts";
import { vectorTable } from "../src/store/postgres/schema.ts";
import { SqliteIndexStore } from "../src/store/sqlite/sqlite-index-store.ts";
import { analyze } from "../src/text/analyzer.ts";
import { json, runCli } from "./helpers/cli.ts";

const TOPICS = ["archive tapes", "backup rotation", "restore drills", "disk quotas", "log retention", "key rotation"];
const HANDBOOK = Array.from({ length: 12 }, (_, i) => ({
  id: `guide/${i}.md`,
  title: `Guide ${i}`,
  text: `${TOPICS[i % TOPICS.length]} for team ${i}. ${"The operator checks the schedule and writes it down. ".repeat(3 + i)}`,
  meta: { team: `t${i % 3}`, year: 2020 + i },
}));
const NOTES = [
  { id: "n1", text: "Resume re-runs only the documents that did not complete." },
  { id: "n2", text: "Cancel stops the work between stages and keeps the index clean." },
  { id: "n3", text: "The spool keeps every accepted document until a worker indexes it." },
];

const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");

/** The doc ids of a search's rows, in rank order. */
async function docIds(store: IndexStore, collection: string, rows: Array<{ rowid: number }>): Promise<string[]> {
  const chunks = await store.getChunks(
    collection,
    rows.map((r) => r.rowid),
  );
  return rows.map((r) => chunks.get(r.rowid)!.docId);
}

describe("sluice migrate: an embedded data folder into PostgreSQL", () => {
  const schema = testSchema();
  const dir = mkdtempSync(join(tmpdir(), "sluice-migrate-"));
  const data = join(dir, "data");
  const embedder = new HashEmbedder({ dimensions: 32 });
  const jobs: Job[] = [];
  let hashes: Record<string, string>;
  const sourceHashes = () => ({ index: sha256(join(data, "index.db")), ledger: sha256(join(data, "ledger.db")) });
  const migrate = () => migrateToPostgres({ dataDir: data, url: TEST_DATABASE_URL, schema, sample: 100 });

  before(async () => {
    await ensureTestDatabase();
    const sluice = await Sluice.open({ dataDir: data, config: parseConfig({}), embedder });
    try {
      const handbook = await sluice.submitDocuments({ collection: "handbook", documents: HANDBOOK });
      jobs.push(await sluice.runJob(handbook.id));
      // A second collection through the sparse pipeline: its sparse weights move too.
      const notes = await sluice.submitDocuments({ collection: "notes", pipeline: "hybrid-sparse", documents: NOTES });
      jobs.push(await sluice.runJob(notes.id));
    } finally {
      await sluice.close();
    }
    hashes = sourceHashes();
  });

  after(async () => {
    await dropTestSchema(schema);
    rmSync(dir, { recursive: true, force: true });
  });

  let first: MigrationReport;

  it("copies every collection, document, chunk, vector and job record, verifies, and leaves the folder's bytes alone", async () => {
    first = await migrate();
    assert.deepEqual(first.verification.mismatches, []);
    assert.equal(first.verification.ok, true);
    assert.equal(first.verification.sampledChunks > 0, true);
    const byName = new Map(first.collections.map((c) => [c.collection, c]));
    assert.deepEqual(byName.get("handbook")!.documents, { copied: 12, skipped: 0 });
    assert.deepEqual(byName.get("notes")!.documents, { copied: 3, skipped: 0 });
    assert.equal(byName.get("handbook")!.vectors.copied, byName.get("handbook")!.chunks.copied);
    assert.deepEqual(first.jobRecords["jobs"], { copied: 2, skipped: 0 });
    assert.deepEqual(first.jobRecords["job_documents"], { copied: 15, skipped: 0 });
    assert.ok(first.jobRecords["job_stages"]!.copied > 15);
    assert.deepEqual(sourceHashes(), hashes, "index.db and ledger.db keep their bytes");
  });

  it("answers lexical, dense and sparse queries in PostgreSQL as the embedded index does", async () => {
    // SqliteIndexStore.open writes (its schema DDL): compare against a copy of the folder.
    const copy = join(dir, "copy");
    mkdirSync(copy);
    cpSync(join(data, "index.db"), join(copy, "index.db"));
    const sqlite = new SqliteIndexStore(join(copy, "index.db"));
    const pg = new PostgresIndexStore({ url: TEST_DATABASE_URL, schema });
    await sqlite.open();
    await pg.open();
    try {
      const counts = async (s: IndexStore) =>
        (await s.listCollections()).map((c) => [c.name, c.documents, c.chunks, c.embedder, c.dimensions]);
      assert.deepEqual(await counts(pg), await counts(sqlite));

      const terms = analyze("backup rotation schedule");
      assert.deepEqual(
        await docIds(pg, "handbook", await pg.searchLexical("handbook", terms, 5)),
        await docIds(sqlite, "handbook", await sqlite.searchLexical("handbook", terms, 5)),
      );
      const [vector] = await embedder.embed(["restore drills for the team"], { kind: "query" });
      const dense = async (s: IndexStore) => docIds(s, "handbook", await s.searchDense("handbook", vector!, 3));
      assert.deepEqual(await dense(pg), await dense(sqlite));
      const filter = { team: "t1" };
      const filtered = async (s: IndexStore) =>
        docIds(s, "handbook", await s.searchDense("handbook", vector!, 3, filter));
      assert.deepEqual(await filtered(pg), await filtered(sqlite), "metadata moved with the documents");
      const weights = { spool: 1, worker: 0.5 };
      const sparse = async (s: IndexStore) => docIds(s, "notes", await s.searchSparse("notes", weights, 2));
      assert.deepEqual(await sparse(pg), ["n3"]);
      assert.deepEqual(await sparse(pg), await sparse(sqlite));
    } finally {
      await sqlite.close();
      await pg.close();
    }
  });

  it("moves the job records: the PostgreSQL ledger knows every job, its documents and their outcomes", async () => {
    const stores = postgresStores({ url: TEST_DATABASE_URL, schema });
    await stores.open();
    try {
      for (const job of jobs) {
        const moved = await stores.ledger.getJob(job.id);
        assert.deepEqual(moved, job);
      }
      const listed = await stores.ledger.listJobs();
      assert.deepEqual(
        listed.map((j) => j.id),
        jobs.map((j) => j.id),
      );
      // A job created in PostgreSQL after the move takes the next number, not one of the copied ones.
      const next = await stores.ledger.createJob({ collection: "handbook", pipeline: "auto", paths: [] });
      assert.equal((await stores.ledger.listJobs()).at(-1)!.id, next.id);
    } finally {
      await stores.close();
    }
  });

  it("a second run copies nothing, skips everything and still verifies", async () => {
    const again = await migrate();
    assert.equal(again.verification.ok, true, again.verification.mismatches.join("; "));
    for (const c of again.collections) {
      const before = first.collections.find((f) => f.collection === c.collection)!;
      assert.deepEqual(c.documents, { copied: 0, skipped: before.documents.copied });
      assert.deepEqual(c.chunks, { copied: 0, skipped: before.chunks.copied });
      assert.deepEqual(c.vectors, { copied: 0, skipped: before.vectors.copied });
    }
    for (const [table, counts] of Object.entries(again.jobRecords))
      assert.equal(counts.copied, 0, `${table}: nothing new`);
    assert.deepEqual(sourceHashes(), hashes);
  });

  it("resumes an interrupted copy: only what is missing is copied", async () => {
    const pg = new PostgresIndexStore({ url: TEST_DATABASE_URL, schema });
    await pg.open();
    try {
      // As if the first run had stopped before these: two documents and a job's stage records.
      await pg.deleteDocument("handbook", "guide/3.md");
      await pg.deleteDocument("notes", "n2");
      await pg.pool.query("delete from job_stages where job_id = $1", [jobs[1]!.id]);
    } finally {
      await pg.close();
    }
    const resumed = await migrate();
    assert.equal(resumed.verification.ok, true, resumed.verification.mismatches.join("; "));
    const byName = new Map(resumed.collections.map((c) => [c.collection, c]));
    assert.deepEqual(byName.get("handbook")!.documents, { copied: 1, skipped: 11 });
    assert.deepEqual(byName.get("notes")!.documents, { copied: 1, skipped: 2 });
    assert.ok(resumed.jobRecords["job_stages"]!.copied > 0);
    assert.equal(resumed.jobRecords["jobs"]!.copied, 0);
  });

  it("runs through the CLI: a JSON report, and a difference in PostgreSQL exits 1 naming the collection", async () => {
    const args = ["--data", data, "--json", "migrate", "--to", TEST_DATABASE_URL, "--schema", schema];
    const ok = await runCli(args);
    assert.equal(ok.code, 0, ok.stderr);
    const report = json<MigrationReport>(ok);
    assert.equal(report.verification.ok, true);
    assert.equal(report.collections.length, 2);

    // A vector changed in PostgreSQL behind the copy's back: the sampled comparison finds it.
    const pg = new PostgresIndexStore({ url: TEST_DATABASE_URL, schema });
    await pg.open();
    try {
      const id = (await pg.pool.query<{ id: string }>("select id from index_collections where name = 'notes'")).rows[0]!
        .id;
      await pg.pool.query(
        `update ${vectorTable(id)} set embedding = array_fill(0.5::real, array[32])::public.vector where chunk_rowid = (select min(chunk_rowid) from ${vectorTable(id)})`,
      );
    } finally {
      await pg.close();
    }
    const differs = await runCli(["--data", data, "migrate", "--to", TEST_DATABASE_URL, "--schema", schema]);
    assert.equal(differs.code, 1, differs.stdout);
    assert.match(differs.stderr, /collection "notes": 1 of 3 sampled chunks differ/);
    assert.deepEqual(sourceHashes(), hashes);
  });

  it("refuses bad input with a clear message and never prints the password", async () => {
    const bad = await runCli(["--data", data, "migrate", "--to", "mysql://sluice:hunter2@db/sluice"]);
    assert.equal(bad.code, 1);
    assert.match(
      bad.stderr,
      /VALIDATION_FAILED: --to must be a PostgreSQL URL like postgres:\/\/user@host:5432\/db, got "mysql:\/\/sluice:\*\*\*@db\/sluice"/,
    );
    assert.doesNotMatch(bad.stdout + bad.stderr, /hunter2/);

    const failure = (url: string, dataDir = data) =>
      migrateToPostgres({ dataDir, url, schema }).then(
        () => assert.fail("expected an error"),
        (e: Error & { code: string }) => e,
      );
    const down = await failure("postgres://sluice:hunter2@127.0.0.1:1/sluice");
    assert.equal(down.code, "STORE_UNAVAILABLE");
    assert.match(down.message, /^PostgreSQL at postgres:\/\/sluice:\*\*\*@127\.0\.0\.1:1\/sluice cannot be reached/);

    const empty = join(dir, "empty");
    mkdirSync(empty);
    const missing = await failure(TEST_DATABASE_URL, empty);
    assert.equal(missing.code, "PATH_NOT_FOUND");
    assert.match(missing.message, /empty\/index\.db does not exist/);
    for (const e of [down, missing]) assert.doesNotMatch(`${e.message} ${JSON.stringify(e)}`, /hunter2/);
  });

  it("refuses while the embedded spool still holds unfinished documents", async () => {
    const busy = join(dir, "busy");
    const sluice = await Sluice.open({ dataDir: busy, config: parseConfig({}), embedder });
    try {
      await sluice.submitDocuments({ collection: "c", documents: NOTES });
    } finally {
      await sluice.close();
    }
    await assert.rejects(
      migrateToPostgres({ dataDir: busy, url: TEST_DATABASE_URL, schema: testSchema() }),
      (e: Error & { code?: string }) =>
        e.code === "JOB_STATE_CONFLICT" &&
        /still holds 3 unfinished document\(s\).*sluice worker --exit-when-idle/.test(e.message),
    );
  });

  it("refuses, copying nothing, a schema that holds another Sluice's jobs", async () => {
    const other = testSchema();
    const stores = postgresStores({ url: TEST_DATABASE_URL, schema: other });
    await stores.open();
    try {
      await stores.ledger.createJob({ collection: "elsewhere", pipeline: "auto", paths: [] });
      await assert.rejects(
        migrateToPostgres({ dataDir: data, url: TEST_DATABASE_URL, schema: other }),
        (e: Error & { code?: string }) =>
          e.code === "JOB_STATE_CONFLICT" && /already holds jobs of another Sluice.*--schema/.test(e.message),
      );
      const pg = new PostgresIndexStore({ url: TEST_DATABASE_URL, schema: other });
      await pg.open();
      try {
        assert.deepEqual(await pg.listCollections(), []);
      } finally {
        await pg.close();
      }
    } finally {
      await stores.close();
      await dropTestSchema(other);
    }
  });
});
