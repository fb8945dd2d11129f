import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { parseConfig } from "../config/load-config.ts";
import { Sluice } from "../engine/sluice.ts";
import { HashEmbedder } from "../models/backends/hash-embedder.ts";
import { type BuildAppOptions, buildApp } from "./app.ts";

/** An app over a real Sluice in a fresh temp directory, for `app.inject` tests. */
export interface TestApp {
  app: FastifyInstance;
  sluice: Sluice;
  /** The temp directory: Sluice's data dir and working directory. */
  dir: string;
  close(): Promise<void>;
}

/**
 * Opens a Sluice on a temp dir with the hash embedder (no model loads) and builds the app;
 * `engine.config` overrides the engine's defaults (as a sluice.yaml would).
 *
 * @example
 * const t = await openTestApp();
 * const res = await t.app.inject({ method: "GET", url: "/health" });
 * await t.close();
 */
export async function openTestApp(
  options: BuildAppOptions = {},
  engine: { config?: Record<string, unknown> } = {},
): Promise<TestApp> {
  const dir = await mkdtemp(join(tmpdir(), "sluice-api-"));
  const sluice = await Sluice.open({
    dataDir: join(dir, "data"),
    cwd: dir,
    embedder: new HashEmbedder({ dimensions: 64 }),
    ...(engine.config ? { config: parseConfig(engine.config) } : {}),
  });
  // Auth off unless a test asks for it, whatever SLUICE_AUTH_JWT_SECRET the test runner has.
  const app = await buildApp(sluice, { auth: {}, ...options });
  let closed = false;
  return {
    app,
    sluice,
    dir,
    async close() {
      if (closed) return;
      closed = true;
      await app.close();
      await sluice.close().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Encodes files as a multipart/form-data body for `app.inject`.
 *
 * @example
 * const { payload, headers } = await multipartBody([{ name: "a.md", content: "# A" }]);
 */
export async function multipartBody(
  files: ReadonlyArray<{ name: string; content: string | Uint8Array; field?: string }>,
): Promise<{ payload: Buffer; headers: Record<string, string> }> {
  const form = new FormData();
  for (const f of files) form.append(f.field ?? "files", new Blob([f.content]), f.name);
  const request = new Request("http://localhost/", { method: "POST", body: form });
  return {
    payload: Buffer.from(await request.arrayBuffer()),
    headers: { "content-type": request.headers.get("content-type") ?? "" },
  };
}
