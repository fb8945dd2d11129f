import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { DocumentRef } from "../../contracts/index.ts";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../../db/postgres/postgres.fixture.ts";
import { describeWorkQueueConformance } from "../work-queue.conformance.ts";
import type { AdmittedDocument, Lease } from "../work-queue.ts";
import { postgresStores } from "./postgres-stores.ts";

const schemas = [testSchema(), testSchema()] as const;
let reached = false;
const connect = async (schema: string) => {
  await ensureTestDatabase();
  reached = true;
  return postgresStores({ url: TEST_DATABASE_URL, schema });
};

after(async () => {
  if (reached) await Promise.all(schemas.map((s) => dropTestSchema(s)));
});

describeWorkQueueConformance("postgres", () => connect(schemas[0]));

const docs = (n: number, prefix = "d"): AdmittedDocument[] =>
  Array.from({ length: n }, (_, i) => {
    const ref: DocumentRef = {
      id: `${prefix}${i}`,
      source: `${prefix}${i}.txt`,
      kind: "inline",
      text: `text ${i}`,
      meta: {},
    };
    return { ref, lane: "normal" as const, envelope: new TextEncoder().encode(`envelope ${prefix}${i}`) };
  });
const spec = { collection: "c", pipeline: "auto", paths: [] };
const seqsOf = (leases: Lease[]) => leases.map((r) => r.seq);

describe("PostgresWorkQueue: two processes (two pools) on one schema", () => {
  let a: Awaited<ReturnType<typeof connect>>;
  let b: Awaited<ReturnType<typeof connect>>;
  before(async () => {
    a = await connect(schemas[1]);
    b = await connect(schemas[1]);
    // Both migrate a fresh schema at once: the advisory lock lets each migration run once.
    await Promise.all([a.open(), b.open()]);
  });
  after(async () => {
    await Promise.all([a?.close(), b?.close()]);
  });

  const newJob = async (n: number) => {
    const job = await a.ledger.createJob(spec);
    await a.queue.admit(job.id, docs(n));
    await a.ledger.sealJob(job.id);
    return job.id;
  };

  it("concurrent lease loops on both pools never hand out the same record twice", async () => {
    const id = await newJob(200);
    const seen: number[] = [];
    const loop = async (queue: typeof a.queue, owner: string) => {
      for (;;) {
        const got = await queue.lease(owner, 10, 60_000, { jobId: id });
        if (got.length === 0) return;
        seen.push(...seqsOf(got));
      }
    };
    await Promise.all([loop(a.queue, "a:1"), loop(b.queue, "b:1"), loop(a.queue, "a:2"), loop(b.queue, "b:2")]);
    // A loop may stop on a tail another lease had locked for a moment; what is left is still there.
    seen.push(...seqsOf(await b.queue.lease("rest", 1000, 60_000, { jobId: id })));
    assert.equal(new Set(seen).size, seen.length, "no seq was leased twice");
    assert.equal(seen.length, 200);
    const job = await b.ledger.getJob(id, { documents: true });
    assert.equal(job.state, "PROCESSING");
    assert.ok(job.documents!.every((d) => d.state === "PROCESSING"));
  });

  it("claim takes only ready records (PENDING, due, not suspect), once; dispatchable lists them; wake returns the woken", async () => {
    const id = await newJob(6);
    const listed = await a.queue.dispatchable({ jobId: id, limit: 100 });
    assert.deepEqual(
      listed.map((d) => [d.lane, d.notBefore]),
      Array(6).fill(["normal", 0]),
    );
    const [s0, s1, s2, s3, s4, s5] = listed.map((d) => d.seq) as [number, number, number, number, number, number];

    // s0 stays leased; s1 backs off; s2 becomes a suspect; s3 waits on a condition.
    assert.deepEqual(
      seqsOf(await a.queue.claim("setup", [s3, s0, s1], 60_000)),
      [s3, s0, s1],
      "claimed in the order asked",
    );
    assert.deepEqual(seqsOf(await b.queue.claim("dead:9:x", [s2], 60_000)), [s2]);
    await a.queue.release(s1, { notBefore: Date.now() + 60_000 });
    await a.queue.wait(s3, { condition: `ready:${id}` });
    assert.ok((await b.queue.recover((owner) => owner !== "dead:9:x")).suspects >= 1);

    const ready = await b.queue.dispatchable({ jobId: id, limit: 100 });
    assert.deepEqual(
      ready.map((d) => d.seq),
      [s1, s4, s5],
    );
    assert.ok(ready[0]!.notBefore > Date.now(), "a backoff is listed with its time");
    assert.deepEqual(
      (await a.queue.dispatchable({ seqs: [s5, s0, s2, s3, s1], limit: 10 })).map((d) => d.seq),
      [s5, s1],
    );

    const all = [s0, s1, s2, s3, s4, s5];
    const [x, y] = await Promise.all([a.queue.claim("x", all, 60_000), b.queue.claim("y", all, 60_000)]);
    assert.deepEqual(
      [...seqsOf(x), ...seqsOf(y)].sort((p, q) => p - q),
      [s4, s5],
      "each ready record claimed exactly once",
    );
    assert.deepEqual(
      await a.queue.claim("z", all, 60_000),
      [],
      "leased, backing off, suspect or waiting: nothing to claim",
    );

    assert.deepEqual(await b.queue.wake(`ready:${id}`), [{ seq: s3, lane: "normal", notBefore: 0 }]);
    assert.deepEqual(await a.queue.wake(`ready:${id}`), [], "woken once");
    const [woken] = await a.queue.claim("z", [s3], 60_000);
    assert.deepEqual([woken?.seq, woken?.attempts], [s3, 1], "the wait gave its attempt back");
    assert.deepEqual(
      seqsOf(await b.queue.claim("z", [s1], 60_000, Date.now() + 61_000)),
      [s1],
      "due once its backoff is over",
    );
    assert.deepEqual(await b.queue.claim("z", [s2], 60_000), [], "a suspect is never claimed");
    assert.deepEqual(seqsOf(await b.queue.lease("solo", 1, 60_000, { jobId: id, suspects: "only" })), [s2]);
  });
});
