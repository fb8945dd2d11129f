import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { readFileSync } from "node:fs";
import { parseConfig } from "../src/config/load-config.ts";
import { ModelServer } from "../src/model-server/model-server.ts";
import { startTestModelServer, type TestModelServer } from "../src/model-server/test-server.fixture.ts";
import { createDevCertificates, type DevCertificatePaths } from "../src/model-server/tls/dev-certs.ts";
import { GrpcModels } from "../src/models/remote/grpc-models.ts";
import { healthClient } from "./helpers/health-client.ts";
import { runCli, workspace } from "./helpers/cli.ts";

function sluiceCode(err: unknown): string | undefined {
  return (err as { code?: string }).code;
}

void describe("model server with mTLS", () => {
  let certs: DevCertificatePaths;
  let t: TestModelServer;
  const clients: GrpcModels[] = [];
  const client = (name: string | null) => {
    const c = certs.clients.find((x) => x.name === name);
    const models = new GrpcModels({
      address: t.server.address,
      timeoutMs: 5000,
      maxInFlight: 4,
      ...(c ? { tls: { ca: certs.ca.cert, cert: c.cert, key: c.key, serverName: "localhost" } } : {}),
    });
    clients.push(models);
    return models;
  };

  before(async () => {
    certs = await createDevCertificates({
      dir: await mkdtemp(join(tmpdir(), "sluice-mtls-")),
      clientNames: ["sluice-gateway", "intruder"],
    });
    t = await startTestModelServer({
      modelServer: {
        services: ["embed"],
        tls: { ca: certs.ca.cert, cert: certs.server.cert, key: certs.server.key, allowedClients: ["sluice-gateway"] },
      },
    });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await t.close();
  });

  void it("serves a client whose certificate the CA signed for an allowed CN", async () => {
    const [vector] = await client("sluice-gateway").embedder().embed(["over mutual TLS"]);
    assert.equal(vector?.length, 32);
  });

  void it("refuses a client without a certificate at the handshake", async () => {
    const health = healthClient(t.server.address, grpc.credentials.createSsl(readFileSync(certs.ca.cert)));
    try {
      await assert.rejects(health.check(""), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.UNAVAILABLE);
        return true;
      });
    } finally {
      health.close();
    }
    assert.equal(t.embedder.calls, 1, "only the allowed client's call reached the model");
  });

  void it("refuses a certificate with an unknown CN: PERMISSION_DENIED, never retried", async () => {
    await assert.rejects(client("intruder").embedder().embed(["let me in"]), (err: unknown) => {
      assert.equal(sluiceCode(err), "PERMISSION_DENIED");
      assert.match(String((err as Error).message), /"intruder" is not allowed/);
      assert.equal((err as { retryable?: boolean }).retryable, false);
      return true;
    });
  });

  void it("refuses a plaintext client (the call fails as MODEL_UNAVAILABLE)", async () => {
    await assert.rejects(
      client(null).embedder().embed(["no tls"]),
      (err: unknown) => sluiceCode(err) === "MODEL_UNAVAILABLE",
    );
    assert.equal(t.embedder.calls, 1);
  });

  void it("stops startup with a clear message when a TLS file is missing", async () => {
    const config = parseConfig({
      modelServer: {
        services: ["embed"],
        tls: {
          ca: certs.ca.cert,
          cert: certs.server.cert,
          key: join(certs.dir, "missing-key.pem"),
          allowedClients: ["sluice-gateway"],
        },
      },
    });
    await assert.rejects(ModelServer.start({ config, listen: "127.0.0.1:0" }), (err: unknown) => {
      assert.equal(sluiceCode(err), "CONFIG_INVALID");
      assert.match(String((err as Error).message), /modelServer\.tls\.key: .*missing-key\.pem/);
      return true;
    });
  });

  void it("stops a remote-mode gateway at startup when its client certificate is missing", async () => {
    const { Sluice } = await import("../src/engine/sluice.ts");
    const dir = await mkdtemp(join(tmpdir(), "sluice-gw-"));
    const config = parseConfig({
      models: {
        mode: "remote",
        remote: {
          address: t.server.address,
          tls: { ca: certs.ca.cert, cert: join(dir, "nope.pem"), key: certs.clients[0]!.key },
        },
      },
    });
    await assert.rejects(Sluice.open({ dataDir: join(dir, "data"), config }), (err: unknown) => {
      assert.equal(sluiceCode(err), "CONFIG_INVALID");
      assert.match(String((err as Error).message), /models\.remote\.tls\.cert: .*nope\.pem/);
      return true;
    });
  });

  void it("binds to loopback only without TLS: sluice model-server --listen 0.0.0.0 refuses to start", async () => {
    const ws = workspace();
    const result = await runCli(["--config", ws.config, "model-server", "--listen", "0.0.0.0:0"]);
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stderr, /CONFIG_INVALID/);
    assert.match(result.stderr, /0\.0\.0\.0/);
  });
});
