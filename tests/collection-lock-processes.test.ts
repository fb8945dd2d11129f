import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { hostname } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { deleteKeys, TEST_REDIS_URL, testKeyPrefix } from "../src/db/redis/redis.fixture.ts";
import type { CollectionLock } from "../src/locks/collection-lock.ts";
import { RedisCollectionLock } from "../src/locks/redis/redis-collection-lock.ts";
import { SqliteCollectionLock } from "../src/locks/sqlite/sqlite-collection-lock.ts";
import { ROOT, workspace } from "./helpers/cli.ts";

const HOLD_LOCK = join(ROOT, "tests", "helpers", "hold-lock.ts");

/** Whether the process of a `host:pid:…` owner on this host is alive (what workers pass as isAlive). */
function isAlive(owner: string): boolean {
  const [host, pid] = owner.split(":");
  if (host !== hostname()) return true;
  try {
    process.kill(Number(pid), 0);
    return true;
  } catch {
    return false;
  }
}

interface LockChild {
  child: ChildProcess;
  /** The next JSON line the child prints. */
  next(): Promise<Record<string, unknown>>;
}

function spawnHolder(backend: string, collection: string, mode: "hold" | "try"): LockChild {
  const child = spawn(process.execPath, ["--import", "tsx", HOLD_LOCK, backend, collection, mode], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "inherit"],
  });
  return { child, next: lines(child) };
}

function lines(child: ChildProcess): () => Promise<Record<string, unknown>> {
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let buffer = "";
  child.stdout!.on("data", (d: Buffer) => {
    buffer += d.toString();
    for (let i = buffer.indexOf("\n"); i >= 0; i = buffer.indexOf("\n")) {
      const line = buffer.slice(0, i);
      buffer = buffer.slice(i + 1);
      const w = waiting.shift();
      if (w) w(line);
      else queue.push(line);
    }
  });
  return async () =>
    JSON.parse(queue.shift() ?? (await new Promise<string>((r) => waiting.push(r)))) as Record<string, unknown>;
}

const exited = (child: ChildProcess) =>
  new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(null) : child.once("exit", r)));

/** Same lock, two processes: the test runner and child processes of its own. */
function describeTwoProcesses(name: string, backend: string, open: () => CollectionLock): void {
  void describe(`collection lock across processes: ${name}`, () => {
    void it("a lock one process holds is refused to another until the holder releases it", async () => {
      const lock = open();
      await lock.open();
      try {
        const holder = spawnHolder(backend, "docs", "hold");
        const { held, owner } = await holder.next();
        assert.equal(held, true);
        assert.equal(owner, `${hostname()}:${holder.child.pid}:child`);
        assert.equal(
          await lock.acquire("docs", `${hostname()}:${process.pid}:runner`, 60_000, { isAlive }),
          false,
          "refused: the holder is alive",
        );
        assert.equal((await lock.holder("docs"))?.owner, owner);
        const other = spawnHolder(backend, "docs", "try");
        assert.equal((await other.next())["held"], false, "a third process is refused too");
        await exited(other.child);

        holder.child.kill("SIGTERM");
        assert.deepEqual(await holder.next(), { released: true });
        await exited(holder.child);
        assert.equal(await lock.acquire("docs", `${hostname()}:${process.pid}:runner`, 60_000, { isAlive }), true);
        assert.equal(await lock.release("docs", `${hostname()}:${process.pid}:runner`), true);
      } finally {
        await lock.close();
      }
    });

    void it("a holder killed with SIGKILL keeps the lock until its TTL, unless the taker sees it is dead", async () => {
      const lock = open();
      await lock.open();
      try {
        const holder = spawnHolder(backend, "killed", "hold");
        assert.equal((await holder.next())["held"], true);
        holder.child.kill("SIGKILL");
        await exited(holder.child);
        const me = `${hostname()}:${process.pid}:runner`;
        assert.equal(await lock.acquire("killed", me, 60_000), false, "without isAlive only the TTL frees it");
        assert.equal(await lock.acquire("killed", me, 60_000, { isAlive }), true, "a dead holder's lock is taken over");
        assert.equal(await lock.release("killed", me), true);
      } finally {
        await lock.close();
      }
    });
  });
}

const ws = workspace();
const ledgerPath = join(ws.data, "ledger.db");
describeTwoProcesses(
  "sqlite (two processes on one data directory)",
  `sqlite:${ledgerPath}`,
  () => new SqliteCollectionLock(ledgerPath),
);

const keyPrefix = testKeyPrefix();
after(async () => {
  await deleteKeys(keyPrefix);
});
describeTwoProcesses(
  "redis",
  `redis:${TEST_REDIS_URL}#${keyPrefix}`,
  () => new RedisCollectionLock({ url: TEST_REDIS_URL, keyPrefix }),
);
