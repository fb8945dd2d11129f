import assert from "node:assert/strict";
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import { it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { LaneTokens } from "./lane-tokens.ts";

void it("a blocking connection that never comes up does not crash close", async () => {
  let n = 0;
  const sockets: Socket[] = [];
  const server = createServer((client) => {
    n++;
    sockets.push(client);
    client.on("error", () => undefined);
    if (n > 1) { setTimeout(() => client.destroy(), 20); return; }
    const up = connect(6379, "127.0.0.1");
    up.on("error", () => undefined);
    client.pipe(up).pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as AddressInfo).port;
  for (let i = 0; i < 30; i++) {
    n = 0;
    const tokens = new LaneTokens({ url: `redis://127.0.0.1:${port}`, prefix: "sluice-test-exp", connectTimeoutMs: 300, commandTimeoutMs: 500 });
    await assert.rejects(tokens.connect());
    await sleep(i * 7);
    await tokens.close();
  }
  await sleep(500);
  for (const s of sockets) s.destroy();
  server.close();
  console.log("connections", n);
});
