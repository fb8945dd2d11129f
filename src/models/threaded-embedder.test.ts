import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import { EmbedderConfigSchema, type EmbedderConfig } from "../config/schema.ts";
import { assertSameVector, describeDenseEmbedderConformance } from "./conformance.test-suite.ts";
import { createEmbedder } from "./create-embedder.ts";
import { ThreadedEmbedder } from "./threaded-embedder.ts";

const HASH: EmbedderConfig = { backend: "hash", dimensions: 256, batchSize: 256 };

/** Enough hashing to keep a thread busy for a while (a few hundred ms here). */
const MANY = Array.from(
  { length: 20_000 },
  (_, i) => `document ${i} ${"the quick brown fox jumps over a lazy dog ".repeat(6)}`,
);

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describeDenseEmbedderConformance("threaded hash (2 threads)", () => new ThreadedEmbedder({ config: HASH, threads: 2 }));

void describe("ThreadedEmbedder", () => {
  void it("returns the vectors of the same embedder built on this thread, whichever thread computes them", async () => {
    const pool = new ThreadedEmbedder({ config: HASH, threads: 2 });
    const inline = createEmbedder(HASH);
    const texts = Array.from({ length: 40 }, (_, i) => `text ${i}: ${"word ".repeat(i % 7)}${i * 31}`);
    const halves = await Promise.all([pool.embed(texts.slice(0, 20)), pool.embed(texts.slice(20), { kind: "query" })]);
    const expected = await inline.embed(texts);
    halves.flat().forEach((v, i) => assertSameVector(v, expected[i], 1e-6, texts[i]));
    assert.equal(pool.workers.length, 2);
    assert.equal(pool.id, inline.id);
    await pool.close();
  });

  void it("shows the static embedder's id once warm, and its vectors equal the in-thread ones (real USE-lite teacher)", async () => {
    const dataDir = mkdtempSync(join(tmpdir(), "sluice-threaded-"));
    dirs.push(dataDir);
    const config = EmbedderConfigSchema.parse({ backend: "static" });
    const pool = new ThreadedEmbedder({ config, dataDir, threads: 1 });
    assert.equal(pool.id, "static-use-lite@unwarmed");
    assert.equal(pool.dimensions, 512);
    await pool.warmUp();
    const texts = ["the tokenizer splits unfamiliar words", "resume a failed ingestion job"];
    const passages = await pool.embed(texts, { kind: "passage" });
    const queries = await pool.embed(texts, { kind: "query" });
    await pool.close();
    // The same folder on this thread: every word is in its cache now, so no teacher loads here.
    const inline = createEmbedder(config, { dataDir });
    await inline.warmUp();
    assert.equal(pool.id, inline.id);
    assert.match(pool.id, /^static-use-lite@[0-9a-f]{16}$/);
    assert.deepEqual(pool.languages, inline.languages);
    const expected = await inline.embed(texts, { kind: "passage" });
    texts.forEach((t, i) => assertSameVector(passages[i], expected[i], 1e-6, t));
    texts.forEach((t, i) => assertSameVector(queries[i], expected[i], 1e-6, `query ${t}`));
    await inline.close();
  });

  void it("keeps the event loop turning while a thread computes (the same work on this thread blocks it)", async () => {
    const count = async (work: () => Promise<unknown>): Promise<number> => {
      let ticks = 0;
      const timer = setInterval(() => ticks++, 1);
      try {
        await work();
      } finally {
        clearInterval(timer);
      }
      return ticks;
    };
    const pool = new ThreadedEmbedder({ config: HASH, threads: 1 });
    await pool.warmUp();
    const inline = createEmbedder(HASH);
    assert.equal(await count(() => inline.embed(MANY)), 0);
    assert.ok((await count(() => pool.embed(MANY))) > 0, "no timer ran while the thread computed");
    await pool.close();
  });

  void it("rejects an aborted call at once with the signal's reason; the thread serves the next call", async () => {
    const pool = new ThreadedEmbedder({ config: HASH, threads: 1 });
    await pool.warmUp();
    const controller = new AbortController();
    const call = pool.embed(MANY, { signal: controller.signal });
    controller.abort();
    await assert.rejects(call, { name: "AbortError" });
    assert.equal((await pool.embed(["still here"])).length, 1);
    await pool.close();
  });

  void it("rejects the calls of a thread that dies with MODEL_UNAVAILABLE, and the next call starts a fresh one", async () => {
    const pool = new ThreadedEmbedder({ config: HASH, threads: 1 });
    await pool.warmUp();
    const [first] = pool.workers;
    const call = pool.embed(MANY);
    await first!.terminate();
    await assert.rejects(call, {
      code: "MODEL_UNAVAILABLE",
      message: /embedder thread exited unexpectedly with code 1/,
    });
    assert.equal(pool.workers.length, 0);
    const [again] = await pool.embed(["hello world"]);
    assertSameVector(again, (await createEmbedder(HASH).embed(["hello world"]))[0], 1e-6);
    assert.notEqual(pool.workers[0], first);
    await pool.close();
  });

  void it("brings errors thrown in the thread back with their code and message", async () => {
    const config = EmbedderConfigSchema.parse({ backend: "onnx", path: join(tmpdir(), "sluice-no-such-model") });
    const inline = await createEmbedder(config)
      .warmUp()
      .then(
        () => assert.fail("expected the missing folder to fail"),
        (err: unknown) => err as Error & { code: string },
      );
    const pool = new ThreadedEmbedder({ config, threads: 1 });
    await assert.rejects(pool.warmUp(), { name: "SluiceError", code: inline.code, message: inline.message });
    await pool.close();
  });

  void it("close() lets pending calls finish, refuses new ones, and warmUp() opens it again", async () => {
    const pool = new ThreadedEmbedder({ config: HASH, threads: 2 });
    await pool.warmUp();
    const pending = pool.embed(["finish me"]);
    const closing = pool.close();
    await assert.rejects(pool.embed(["too late"]), { code: "MODEL_UNAVAILABLE", message: "embedder is closed" });
    assert.equal((await pending).length, 1);
    await closing;
    assert.equal(pool.workers.length, 0);
    await pool.close(); // twice is fine
    await pool.warmUp();
    assert.equal((await pool.embed(["again"])).length, 1);
    assert.equal(pool.workers.length, 2);
    await pool.close();
  });

  void it("does not hold the process open once idle, even when never closed", () => {
    const module = fileURLToPath(new URL("./threaded-embedder.ts", import.meta.url));
    const script = `
      const { ThreadedEmbedder } = await import(${JSON.stringify(module)});
      const pool = new ThreadedEmbedder({ config: ${JSON.stringify(HASH)}, threads: 2 });
      console.log((await pool.embed(["bye"])).length);
    `;
    const run = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 60_000,
    });
    assert.equal(run.signal, null, `killed: the idle threads kept it alive\n${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), "1");
  });

  void it("refuses a thread count below 1", () => {
    assert.throws(() => new ThreadedEmbedder({ config: HASH, threads: 0 }), RangeError);
  });
});
