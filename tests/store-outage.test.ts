import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { buildApp } from "../src/api/app.ts";
import { parseConfig } from "../src/config/load-config.ts";
import {
  dropTestSchema,
  ensureTestDatabase,
  TEST_DATABASE_URL,
  testSchema,
} from "../src/db/postgres/postgres.fixture.ts";
import { tcpProxy, type TcpProxy } from "../src/db/tcp-proxy.fixture.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";

describe("PostgreSQL goes away under the gateway", () => {
  const schema = testSchema();
  let proxy: TcpProxy;
  before(async () => {
    await ensureTestDatabase();
    const target = new URL(TEST_DATABASE_URL);
    proxy = await tcpProxy(target.hostname, Number(target.port || 5432));
  });
  after(async () => {
    await proxy.stop();
    await dropTestSchema(schema);
  });

  it("the gate answers 503 STORE_UNAVAILABLE with Retry-After, and nothing it accepted is lost", async () => {
    const url = new URL(TEST_DATABASE_URL);
    url.hostname = "127.0.0.1";
    url.port = String(proxy.port);
    const config = parseConfig({
      database: "postgres",
      postgres: { url: url.toString(), schema },
      locks: { collections: false },
    });
    const sluice = await Sluice.open({
      dataDir: mkdtempSync(join(tmpdir(), "sluice-outage-")),
      config,
      embedder: new HashEmbedder({ dimensions: 32 }),
    });
    const app = await buildApp(sluice, { logger: false });
    const post = (ids: string[]) =>
      app.inject({
        method: "POST",
        url: "/v1/collections/c/documents",
        payload: { documents: ids.map((id) => ({ id, text: `Document ${id}.` })) },
      });
    try {
      assert.equal((await post(["a", "b"])).statusCode, 202);

      await proxy.stop();
      const refused = await post(["c"]);
      assert.equal(refused.statusCode, 503, refused.body);
      assert.equal(refused.json<{ code: string }>().code, "STORE_UNAVAILABLE");
      assert.equal(refused.headers["retry-after"], "5");

      await proxy.start();
      let back = await post(["c"]);
      // The pool may hand out one connection that died with the outage before it notices.
      for (let i = 0; i < 5 && back.statusCode === 503; i++) back = await post(["c"]);
      assert.equal(back.statusCode, 202, back.body);
      await sluice.work({ exitWhenIdle: true });
      assert.equal((await sluice.stats("c")).documents, 3, "every accepted document is indexed");
    } finally {
      await app.close();
      await sluice.close();
    }
  });
});
