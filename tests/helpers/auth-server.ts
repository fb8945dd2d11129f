import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { SignJWT } from "jose";
import { buildApp } from "../../src/api/app.ts";
import type { AuthSettings } from "../../src/api/auth/auth-settings.ts";
import { Sluice } from "../../src/engine/sluice.ts";
import { HashEmbedder } from "../../src/models/backends/hash-embedder.ts";

/**
 * A real Sluice API listening on 127.0.0.1 (a random port), for fetch tests.
 *
 * @example
 * const s = await startServer({ jwtSecret });
 * const res = await s.call("GET", "/v1/collections/docs", { token });
 */
export interface LiveServer {
  base: string;
  app: FastifyInstance;
  sluice: Sluice;
  dir: string;
  /** One request; `token` goes in `Authorization: Bearer`. Answers status, headers and parsed JSON (or text). */
  call(
    method: string,
    path: string,
    options?: { token?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<{ status: number; headers: Headers; body: unknown; text: string }>;
  close(): Promise<void>;
}

/**
 * Opens a Sluice (hash embedder) in a temp dir and serves it with these auth settings; `{}` is auth off.
 *
 * @example
 * const s = await startServer({ jwtSecret: "…32+ bytes…", internalSecret: "…" });
 * await s.close();
 */
export async function startServer(auth: AuthSettings): Promise<LiveServer> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-auth-"));
  const sluice = await Sluice.open({
    dataDir: join(dir, "data"),
    cwd: dir,
    embedder: new HashEmbedder({ dimensions: 64 }),
  });
  const app = await buildApp(sluice, { auth });
  await app.listen({ host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  return {
    base,
    app,
    sluice,
    dir,
    async call(method, path, options = {}) {
      const headers: Record<string, string> = { ...options.headers };
      if (options.token !== undefined) headers["authorization"] = `Bearer ${options.token}`;
      if (options.body !== undefined) headers["content-type"] = "application/json";
      const res = await fetch(`${base}${path}`, {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
      });
      const text = await res.text();
      let body: unknown = text;
      if ((res.headers.get("content-type") ?? "").startsWith("application/json") && text !== "")
        body = JSON.parse(text);
      return { status: res.status, headers: res.headers, body, text };
    },
    async close() {
      await app.close();
      await sluice.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * An HS256 token like `sluice token create` makes; `expIn` in seconds from now (negative: expired).
 *
 * @example
 * const token = await hsToken(secret, { sub: "ann", tenant: "acme", scope: "query ingest" });
 */
export function hsToken(
  secret: string,
  claims: { sub?: string; tenant?: string; scope?: string },
  expIn = 600,
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ tenant: claims.tenant ?? "default", scope: claims.scope ?? "" })
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(claims.sub ?? "tester")
    .setIssuedAt(now - 5)
    .setExpirationTime(now + expIn)
    .sign(new TextEncoder().encode(secret));
}
