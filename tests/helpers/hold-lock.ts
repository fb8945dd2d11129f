/**
 * A child process for lock tests: `hold-lock.ts <sqlite:<path>|redis:<url>#<prefix>> <collection> <hold|try>`.
 * Its owner is `<host>:<pid>:child`, like a worker's. `try` acquires once, prints
 * `{"held":bool,"owner":…}` and exits; `hold` does the same and keeps the lock until SIGTERM,
 * when it releases it and prints `{"released":bool}`.
 */
import { hostname } from "node:os";
import type { CollectionLock } from "../../src/locks/collection-lock.ts";
import { RedisCollectionLock } from "../../src/locks/redis/redis-collection-lock.ts";
import { SqliteCollectionLock } from "../../src/locks/sqlite/sqlite-collection-lock.ts";

const [backend = "", collection = "", mode = "try"] = process.argv.slice(2);
const owner = `${hostname()}:${process.pid}:child`;

function open(spec: string): CollectionLock {
  if (spec.startsWith("sqlite:")) return new SqliteCollectionLock(spec.slice("sqlite:".length));
  const [url = "", keyPrefix = ""] = spec.slice("redis:".length).split("#");
  return new RedisCollectionLock({ url, keyPrefix });
}

const lock = open(backend);
await lock.open();
const stopped = new Promise<void>((resolve) => process.once("SIGTERM", () => resolve()));
const held = await lock.acquire(collection, owner, 60_000);
process.stdout.write(`${JSON.stringify({ held, owner })}\n`);
if (mode === "hold" && held) {
  // A signal listener alone does not keep a process alive.
  const alive = setInterval(() => undefined, 60_000);
  await stopped;
  clearInterval(alive);
  const released = await lock.release(collection, owner);
  process.stdout.write(`${JSON.stringify({ released })}\n`);
}
await lock.close();
process.exit(0);
