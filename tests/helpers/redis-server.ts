import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

/** A free TCP port on loopback. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function answers(port: number): Promise<boolean> {
  const { connect } = await import("node:net");
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.end("PING\r\n");
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * A Redis server of the test's own (the machine's `redis-server`), that keeps nothing on disk, so
 * a test can kill it and start it again empty without touching the Redis other tests share.
 *
 * @example
 * const redis = await OwnRedis.start();
 * await redis.restartEmpty();
 * await redis.stop();
 */
export class OwnRedis {
  readonly port: number;
  readonly #dir = mkdtempSync(join(tmpdir(), "sluice-redis-"));
  #child: ChildProcess | null = null;

  private constructor(port: number) {
    this.port = port;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<OwnRedis> {
    const redis = new OwnRedis(await freePort());
    await redis.#spawn();
    return redis;
  }

  async #spawn(): Promise<void> {
    this.#child = spawn(
      "redis-server",
      ["--port", String(this.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", this.#dir],
      { stdio: "ignore" },
    );
    for (let i = 0; i < 100 && !(await answers(this.port)); i++) await sleep(50);
  }

  /** SIGKILL, then a fresh server on the same port with nothing in it. */
  async restartEmpty(): Promise<void> {
    await this.stop();
    await this.#spawn();
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
    this.#child = null;
  }
}
