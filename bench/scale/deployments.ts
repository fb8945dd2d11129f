import { randomBytes } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import { dropTestSchema, ensureTestDatabase } from "../../src/db/postgres/postgres.fixture.ts";
import { deleteKeys } from "../../src/db/redis/redis.fixture.ts";

/** The PostgreSQL and Redis the scale-out configurations use (env overrides, as for the tests). */
export const DATABASE_URL =
  process.env["SLUICE_BENCH_DATABASE_URL"] ?? "postgres://postgres@127.0.0.1:5432/sluice_test";
export const REDIS_URL = process.env["SLUICE_BENCH_REDIS_URL"] ?? "redis://127.0.0.1:6379";

/** Where one configuration keeps its jobs and dispatches work. */
export type Backend = "embedded" | "postgres-bullmq";

/** One configuration's deployment: its config file and what must be removed afterwards. */
export interface Deployment {
  backend: Backend;
  configPath: string;
  /** PostgreSQL schema (`bench_<hex>`), for postgres-bullmq. */
  schema?: string;
  /** Redis key prefix (`sluice-bench-<hex>:`), for postgres-bullmq. */
  keyPrefix?: string;
}

/**
 * Writes the `sluice.yaml` of one configuration into `dir`: the hash embedder, and either the
 * default SQLite ledger and embedded queue, or PostgreSQL (a fresh schema) with BullMQ (a fresh
 * key prefix). Collection locks are off in both, so that scale-out workers share a collection
 * and the single-worker figures run with the same settings.
 */
export async function deploy(dir: string, backend: Backend, concurrency: number): Promise<Deployment> {
  const config: Record<string, unknown> = {
    embedder: { backend: "hash", dimensions: 256 },
    ingest: { concurrency },
    locks: { collections: false },
    // The ingester polls the ledger; keep every job until the run is over.
    jobs: { retentionMs: 0 },
  };
  const deployment: Deployment = { backend, configPath: join(dir, "sluice.yaml") };
  if (backend === "postgres-bullmq") {
    await ensureTestDatabase(DATABASE_URL);
    deployment.schema = `bench_${randomBytes(6).toString("hex")}`;
    deployment.keyPrefix = `sluice-bench-${randomBytes(6).toString("hex")}:`;
    Object.assign(config, {
      database: "postgres",
      postgres: { url: DATABASE_URL, schema: deployment.schema },
      queue: "bullmq",
      redis: { url: REDIS_URL, keyPrefix: deployment.keyPrefix },
    });
  }
  writeFileSync(deployment.configPath, stringify(config));
  return deployment;
}

/** Drops the configuration's schema and deletes its Redis keys (SCAN + DEL, never FLUSHALL). */
export async function teardown(deployment: Deployment): Promise<{ keysDeleted: number }> {
  let keysDeleted = 0;
  if (deployment.schema) await dropTestSchema(deployment.schema, DATABASE_URL);
  if (deployment.keyPrefix) keysDeleted = await deleteKeys(deployment.keyPrefix, REDIS_URL);
  return { keysDeleted };
}
