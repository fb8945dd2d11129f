import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import pg from "pg";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../../db/postgres/postgres.fixture.ts";
import { analyze } from "../../text/analyzer.ts";
import { describeIndexStoreConformance, documentInput } from "../index-store.conformance.ts";
import { matchesMetaFilter, type MetaFilter } from "../meta-filter.ts";
import { SqliteIndexStore } from "../sqlite/sqlite-index-store.ts";
import { PostgresIndexStore, type HnswSettings } from "./postgres-index-store.ts";

const schemas: string[] = [];
before(() => ensureTestDatabase());
after(async () => {
  for (const schema of schemas) await dropTestSchema(schema);
});

function pgStore(hnsw: Partial<HnswSettings> = {}, schema = testSchema()): PostgresIndexStore {
  if (!schemas.includes(schema)) schemas.push(schema);
  return new PostgresIndexStore({ url: TEST_DATABASE_URL, schema }, { hnsw });
}

describeIndexStoreConformance("postgres", async () => pgStore());
describeIndexStoreConformance("postgres, every filtered dense search through the HNSW graph", async () =>
  pgStore({ exactBelow: 0 }),
);

const TEXTS = [
  "The resume command restarts failed jobs from the last good stage.",
  "Cancel stops work between stages; resume picks it up again.",
  "Jobs, jobs and more jobs: the ledger records every one of them.",
  "ภาษาไทยไม่มีการเว้นวรรคระหว่างคำ การตัดคำจึงสำคัญสำหรับการค้นหา",
  "การค้นหาข้อความภาษาไทยต้องตัดคำก่อนสร้างดัชนี",
  "يبحث المستخدم عن الوثائق باللغة العربية في الفهرس",
  "الفهرس يحفظ الوثائق العربية ويجيب عن الأسئلة",
  "A short one.",
  // "jobs" in half the chunks: its idf is FTS5's floor.
  "Workers take jobs from the queue.",
  "Old jobs are pruned after a day.",
  "Cancelled jobs stop between stages.",
  "Failed jobs wait for a resume.",
];

void describe("PostgresIndexStore against SqliteIndexStore", () => {
  const sqlite = new SqliteIndexStore(join(mkdtempSync(join(tmpdir(), "sluice-pgparity-")), "index.db"));
  const postgres = pgStore();
  before(async () => {
    await Promise.all([sqlite.open(), postgres.open()]);
    for (const store of [sqlite, postgres]) {
      for (const [i, text] of TEXTS.entries()) await store.writeDocument("p", documentInput(`d${i}`, [text]));
    }
  });
  after(async () => Promise.all([sqlite.close(), postgres.close()]));

  const docsOf = async (store: SqliteIndexStore | PostgresIndexStore, rows: Array<{ rowid: number }>) => {
    const chunks = await store.getChunks(
      "p",
      rows.map((r) => r.rowid),
    );
    return rows.map((r) => chunks.get(r.rowid)!.docId);
  };

  for (const query of ["resume failed jobs", "jobs stages", "การค้นหาภาษาไทย", "الوثائق العربية", "nothing-here"]) {
    void it(`ranks "${query}" with FTS5's BM25 scores, in English, Thai and Arabic`, async () => {
      const terms = analyze(query);
      // k 10 scores every term; k 1 and 2 leave terms in half the chunks or more ("jobs") out of the
      // aggregate and add them to the chunks that can still make the top k.
      for (const k of [10, 2, 1]) {
        const [a, b] = await Promise.all([sqlite.searchLexical("p", terms, k), postgres.searchLexical("p", terms, k)]);
        assertSameRanking(await docsOf(sqlite, a), a, await docsOf(postgres, b), b);
      }
    });
  }
});

/** The same chunks in the same order, with the same scores. */
function assertSameRanking(
  docsA: string[],
  a: Array<{ score: number }>,
  docsB: string[],
  b: Array<{ score: number }>,
): void {
  assert.deepEqual(docsB, docsA);
  // (After deletes the scores part a little: FTS5 keeps counting a deleted row in N.)
  b.forEach((row, i) =>
    assert.ok(Math.abs(row.score - a[i]!.score) <= 1e-9 * Math.abs(a[i]!.score), `${row.score} ${a[i]!.score}`),
  );
}

void describe("PostgresIndexStore", () => {
  void it("compiles metadata filters to SQL with matchesMetaFilter's meaning, types and missing keys included", async () => {
    const store = pgStore();
    await store.open();
    const metas: Array<Record<string, unknown>> = [
      { year: 2019, lang: "en", tags: ["a"] },
      { year: 2021, lang: "th", draft: true },
      { year: "2021", lang: "ar" },
      { year: 2023.5, lang: "en", draft: false, date: "2024-02-01" },
      { lang: "EN", date: "2023-12-31", nested: { year: 2021 } },
      { year: null, lang: null },
      {},
    ];
    try {
      for (const [i, meta] of metas.entries())
        await store.writeDocument("f", documentInput(`m${i}`, [`doc ${i}`], undefined, "test-model", meta));
      const filters: MetaFilter[] = [
        { lang: "en" },
        { year: 2021 },
        { year: "2021" },
        { year: { gte: 2020 } },
        { year: { gt: 2019, lt: 2023 } },
        { year: { lte: "2021" } },
        { lang: { in: ["en", "ar"] } },
        { year: { in: [2019, "2021"] } },
        { draft: false },
        { draft: { eq: true } },
        { date: { gte: "2024-01-01" } },
        { date: { lt: "2024" }, lang: "EN" },
        { lang: { gte: "a", lt: "f" } },
        { tags: "a" },
        { nested: 2021 },
        { year: { gte: 0 }, lang: "th", draft: true },
        { missing: { gte: 0 } },
      ];
      for (const filter of filters) {
        const expected = metas.flatMap((meta, i) => (matchesMetaFilter(meta, filter) ? [`m${i}`] : []));
        const rows = await store.matchingRows("f", filter);
        const docs = [...(await store.getChunks("f", rows)).values()].map((c) => c.docId).sort();
        assert.deepEqual(docs, expected, JSON.stringify(filter));
      }
    } finally {
      await store.close();
    }
  });

  void it("takes writes from several processes at once: no deadlock, each document once, counts exact", async () => {
    const schema = testSchema();
    const writers = [0, 1, 2, 3].map(() => pgStore({}, schema));
    for (const w of writers) await w.open();
    try {
      const version = (i: number, v: number) =>
        documentInput(
          `doc-${i}`,
          [`shared term version ${v} of ${i}`, `second chunk ${i}`],
          [
            [1, i, v, 0],
            [0, 1, i, v],
          ],
        );
      // Every writer writes every document, in its own order, twice over with a change between:
      // the same rows contend from four pools.
      await Promise.all(
        writers.map(async (w, n) => {
          const order = Array.from({ length: 30 }, (_, i) => (i * (n + 1) * 7) % 30);
          for (const v of [1, 2]) await Promise.all(order.map((i) => w.writeDocument("multi", version(i, v))));
        }),
      );
      const info = (await writers[0]!.getCollection("multi"))!;
      assert.deepEqual([info.documents, info.chunks], [30, 60]);
      const client = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        const one = async (sql: string) => Number((await client.query<{ n: string }>(sql)).rows[0]!.n);
        assert.equal(await one(`select count(*) as n from ${schema}.index_chunks`), 60, "no chunk twice");
        assert.equal(
          await one(`select count(*) as n from ${schema}.index_chunks where text like 'shared term version 2%'`),
          30,
          "the last version of each document is the one stored",
        );
        const tokens = await one(`select sum(length) as n from ${schema}.index_chunks`);
        assert.deepEqual(await writers[1]!.lexicalTotals("multi"), { rows: 60, tokens });
        assert.equal(await one(`select count(*) as n from ${schema}.index_vectors_1`), 60);
      } finally {
        await client.end();
      }
    } finally {
      for (const w of writers) await w.close();
    }
  });

  void it("starts every connection with postgres.hnsw.efSearch", async () => {
    const store = pgStore({ efSearch: 37 });
    await store.open();
    try {
      assert.equal(
        (await store.pool.query<{ v: string }>("select current_setting('hnsw.ef_search') as v")).rows[0]!.v,
        "37",
      );
    } finally {
      await store.close();
    }
  });

  void it("without the right to create pgvector, fails at open saying what to ask for", async () => {
    const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
    await admin.connect();
    const database = `sluice_noext_${process.pid}`;
    const role = `sluice_plain_${process.pid}`;
    try {
      await admin.query(`drop database if exists ${database}`);
      await admin.query(`create database ${database}`);
      await admin.query(`drop role if exists ${role}`);
      await admin.query(`create role ${role} login`);
      await admin.query(`grant all on database ${database} to ${role}`);
      const url = new URL(TEST_DATABASE_URL);
      url.username = role;
      url.pathname = `/${database}`;
      // PostgreSQL 15 leaves `public` closed to other roles: the role creates its own schema.
      const store = new PostgresIndexStore({ url: url.toString(), schema: "mine" });
      const owner = new pg.Client({ connectionString: url.toString() });
      await owner.connect();
      await owner.query("create schema mine");
      await owner.end();
      await assert.rejects(store.open(), (error: Error & { code?: string }) => {
        assert.equal(error.code, "CONFIG_INVALID");
        assert.match(error.message, /pgvector/);
        assert.match(error.message, /CREATE EXTENSION vector|install pgvector/);
        return true;
      });
    } finally {
      await admin.query(`drop database if exists ${database} with (force)`);
      await admin.query(`drop role if exists ${role}`);
      await admin.end();
    }
  });
});
