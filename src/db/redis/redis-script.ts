import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { basename } from "node:path";
import { fileURLToPath } from "node:url";
import type { Redis } from "ioredis";

/**
 * One Lua script, run atomically on the server: each Redis state change Sluice makes is one
 * script (or one command), never a read-then-write from the client. The file name says how many
 * KEYS it takes (`acquire-1.lua`), and each file starts with a header listing its KEYS, ARGV and
 * return values. Scripts run by SHA (EVALSHA, the SHA being the script's version); a server that
 * does not have it cached yet (NOSCRIPT: a restart, a fresh server) gets the source once.
 *
 * @example
 * const acquire = RedisScript.load(new URL("./acquire-1.lua", import.meta.url));
 * const reply = await acquire.run(redis, ["sluice:lock:docs"], [owner, 300_000]);
 */
export class RedisScript {
  /** File name without `.lua`, e.g. `acquire-1`. */
  readonly name: string;
  readonly lua: string;
  readonly sha: string;
  readonly numberOfKeys: number;

  constructor(name: string, lua: string) {
    const keys = /-(\d+)$/.exec(name)?.[1];
    if (keys === undefined) throw new Error(`Redis script name "${name}" must end in -<number of keys>`);
    this.name = name;
    this.lua = lua;
    this.sha = createHash("sha1").update(lua).digest("hex");
    this.numberOfKeys = Number(keys);
  }

  /** Reads a `.lua` file that sits next to the adapter (read once, when the adapter module loads). */
  static load(url: URL): RedisScript {
    const path = fileURLToPath(url);
    return new RedisScript(basename(path).replace(/\.lua$/, ""), readFileSync(path, "utf8"));
  }

  async run(redis: Redis, keys: readonly string[], args: ReadonlyArray<string | number>): Promise<unknown> {
    if (keys.length !== this.numberOfKeys)
      throw new Error(`Redis script ${this.name} takes ${this.numberOfKeys} keys, got ${keys.length}`);
    try {
      return await redis.evalsha(this.sha, keys.length, ...keys, ...args);
    } catch (err) {
      if (!(err instanceof Error) || !err.message.startsWith("NOSCRIPT")) throw err;
      return redis.eval(this.lua, keys.length, ...keys, ...args);
    }
  }
}
