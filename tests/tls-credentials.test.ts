import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { HealthImplementation, protoPath } from "grpc-health-check";
import { SluiceError } from "../src/contracts/errors.ts";
import { createDevCertificates, type DevCertificatePaths } from "../src/model-server/tls/dev-certs.ts";
import {
  assertListenAllowed,
  callerAllowList,
  clientCredentials,
  readTlsFiles,
  serverCredentials,
  type TlsFiles,
} from "../src/models/remote/tls-credentials.ts";

type Callback<T> = (err: grpc.ServiceError | null, value?: T) => void;
interface HealthClient extends grpc.Client {
  Check(
    request: { service: string },
    options: grpc.CallOptions,
    callback: Callback<{ status: string }>,
  ): grpc.ClientUnaryCall;
  Watch(request: { service: string }, options: grpc.CallOptions): grpc.ClientReadableStream<{ status: string }>;
}
type HealthConstructor = new (
  address: string,
  credentials: grpc.ChannelCredentials,
  options?: grpc.ChannelOptions,
) => HealthClient;

const healthPackage = grpc.loadPackageDefinition(
  protoLoader.loadSync(protoPath, { keepCase: true, enums: String, defaults: true }),
) as unknown as {
  grpc: { health: { v1: { Health: HealthConstructor } } };
};
const Health = healthPackage.grpc.health.v1.Health;

/** A second service whose handler counts its calls, to prove refused calls never reach a handler. */
const identity = (b: Buffer): Buffer => b;
const echoService: grpc.ServiceDefinition = {
  Echo: {
    path: "/sluice.test.Echo/Echo",
    requestStream: false,
    responseStream: false,
    requestSerialize: identity,
    requestDeserialize: identity,
    responseSerialize: identity,
    responseDeserialize: identity,
  },
};
const EchoClient = grpc.makeGenericClientConstructor(echoService, "Echo");

function check(client: HealthClient): Promise<{ status?: string; code?: grpc.status; details?: string }> {
  return new Promise((resolveCall) => {
    client.Check({ service: "" }, { deadline: Date.now() + 5_000 }, (err, res) =>
      resolveCall(err ? { code: err.code, details: err.details } : { status: res?.status }),
    );
  });
}

function watch(client: HealthClient): Promise<{ status?: string; code?: grpc.status; details?: string }> {
  return new Promise((resolveCall) => {
    const stream = client.Watch({ service: "" }, { deadline: Date.now() + 5_000 });
    stream.on("data", (res: { status: string }) => {
      stream.cancel();
      resolveCall({ status: res.status });
    });
    stream.on("error", (err: grpc.ServiceError) => resolveCall({ code: err.code, details: err.details }));
  });
}

function echo(
  address: string,
  transport: { credentials: grpc.ChannelCredentials; options: grpc.ChannelOptions },
): Promise<{ code: grpc.status; details?: string }> {
  const client = new EchoClient(address, transport.credentials, transport.options);
  return new Promise((resolveCall) => {
    client.makeUnaryRequest(
      "/sluice.test.Echo/Echo",
      identity,
      identity,
      Buffer.from("hi"),
      { deadline: Date.now() + 5_000 },
      (err: grpc.ServiceError | null) => {
        client.close();
        resolveCall(err ? { code: err.code, details: err.details } : { code: grpc.status.OK });
      },
    );
  });
}

void describe("model-plane mTLS against a real grpc-js server", () => {
  let dir: string;
  let certs: DevCertificatePaths;
  let otherCa: DevCertificatePaths;
  let server: grpc.Server;
  let address: string;
  let echoCalls = 0;
  const clients: grpc.Client[] = [];
  const gateway = (): TlsFiles => ({ ca: certs.ca.cert, cert: certs.clients[0]!.cert, key: certs.clients[0]!.key });
  const connect = (credentials: grpc.ChannelCredentials, options: grpc.ChannelOptions = {}): HealthClient => {
    const client = new Health(address, credentials, options);
    clients.push(client);
    return client;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-tls-"));
    certs = await createDevCertificates({ dir: join(dir, "dev"), clientNames: ["sluice-gateway", "intruder"] });
    // Same CN as the allowed gateway, signed by a CA the server has never heard of.
    otherCa = await createDevCertificates({ dir: join(dir, "other"), clientNames: ["sluice-gateway"] });
    server = new grpc.Server({ interceptors: [callerAllowList(["sluice-gateway"])] });
    new HealthImplementation({ "": "SERVING" }).addToServer(server);
    server.addService(echoService, {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
        echoCalls++;
        callback(null, call.request);
      },
    });
    const port = await new Promise<number>((resolveBind, rejectBind) => {
      server.bindAsync(
        "127.0.0.1:0",
        serverCredentials({ ca: certs.ca.cert, cert: certs.server.cert, key: certs.server.key }),
        (err, p) => (err ? rejectBind(err) : resolveBind(p)),
      );
    });
    address = `127.0.0.1:${port}`;
  });

  after(async () => {
    for (const client of clients) client.close();
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  void it("a client with the gateway certificate gets SERVING from Check and Watch", async () => {
    const { credentials, options } = clientCredentials(gateway());
    const client = connect(credentials, options);
    assert.deepEqual(await check(client), { status: "SERVING" });
    assert.deepEqual(await watch(client), { status: "SERVING" });
  });

  void it("serverName checks the server certificate against that name instead of the address", async () => {
    const named = clientCredentials({ ...gateway(), serverName: "localhost" });
    assert.deepEqual(named.options, { "grpc.ssl_target_name_override": "localhost" });
    assert.deepEqual(await check(connect(named.credentials, named.options)), { status: "SERVING" });
    const wrong = clientCredentials({ ...gateway(), serverName: "models.example.com" });
    assert.equal((await check(connect(wrong.credentials, wrong.options))).code, grpc.status.UNAVAILABLE);
  });

  void it("a client without a certificate fails the handshake: UNAVAILABLE", async () => {
    const result = await check(connect(grpc.credentials.createSsl(readTlsFiles(gateway(), "models.remote.tls").ca)));
    assert.equal(result.code, grpc.status.UNAVAILABLE, result.details);
    // The server's TLS alert, not some other connection failure.
    assert.match(result.details ?? "", /certificate required/);
  });

  void it('a certificate from the same CA with CN "intruder" gets PERMISSION_DENIED on every method, and no handler runs', async () => {
    const intruder = clientCredentials({ ca: certs.ca.cert, cert: certs.clients[1]!.cert, key: certs.clients[1]!.key });
    const client = connect(intruder.credentials, intruder.options);
    const denied = {
      code: grpc.status.PERMISSION_DENIED,
      details: 'client certificate CN "intruder" is not allowed; allowed: "sluice-gateway"',
    };
    assert.deepEqual(await check(client), denied);
    assert.deepEqual(await watch(client), denied);
    const before = echoCalls;
    assert.deepEqual(await echo(address, intruder), denied);
    assert.equal(echoCalls, before);
    assert.deepEqual(await echo(address, clientCredentials(gateway())), { code: grpc.status.OK });
    assert.equal(echoCalls, before + 1);
  });

  void it("an allowed CN signed by another CA is refused at the handshake", async () => {
    const foreign = clientCredentials({
      ca: certs.ca.cert,
      cert: otherCa.clients[0]!.cert,
      key: otherCa.clients[0]!.key,
    });
    const result = await check(connect(foreign.credentials, foreign.options));
    assert.equal(result.code, grpc.status.UNAVAILABLE, result.details);
  });

  void it("a client trusting another CA refuses the server", async () => {
    const distrustful = clientCredentials({
      ca: otherCa.ca.cert,
      cert: certs.clients[0]!.cert,
      key: certs.clients[0]!.key,
    });
    assert.equal((await check(connect(distrustful.credentials, distrustful.options))).code, grpc.status.UNAVAILABLE);
  });

  void it("a plaintext client against the TLS server fails", async () => {
    const plain = clientCredentials(undefined);
    assert.deepEqual(plain.options, {});
    assert.equal((await check(connect(plain.credentials))).code, grpc.status.UNAVAILABLE);
  });

  void it("missing, non-PEM and mismatched files stop with CONFIG_INVALID naming the field and the path", async () => {
    const missing = join(dir, "nope", "server-key.pem");
    assert.throws(
      () => serverCredentials({ ca: certs.ca.cert, cert: certs.server.cert, key: missing }),
      (err: unknown) => {
        assert.ok(err instanceof SluiceError);
        assert.equal(err.code, "CONFIG_INVALID");
        assert.equal(err.message, `modelServer.tls.key: ${missing} cannot be read (ENOENT)`);
        return true;
      },
    );
    const notPem = join(dir, "ca.txt");
    await writeFile(notPem, "hello\n");
    assert.throws(() => clientCredentials({ ...gateway(), ca: notPem }), {
      code: "CONFIG_INVALID",
      message: `models.remote.tls.ca: ${notPem} is not a PEM file with a CERTIFICATE block`,
    });
    assert.throws(() => readTlsFiles({ ...gateway(), key: certs.server.key }, "models.remote.tls"), {
      code: "CONFIG_INVALID",
      message: `models.remote.tls.key: ${certs.server.key} is not the private key of models.remote.tls.cert (${certs.clients[0]!.cert})`,
    });
    assert.throws(() => readTlsFiles({ ...gateway(), cert: certs.clients[0]!.key }, "x.tls"), {
      code: "CONFIG_INVALID",
      message: /^x\.tls\.cert: .* is not a PEM file with a CERTIFICATE block$/,
    });
  });

  void it("no TLS: insecure credentials on both ends", () => {
    assert.ok(serverCredentials(undefined) instanceof grpc.ServerCredentials);
    assert.equal(serverCredentials(undefined)._isSecure(), false);
    assert.equal(
      serverCredentials({ ca: certs.ca.cert, cert: certs.server.cert, key: certs.server.key })._isSecure(),
      true,
    );
  });

  void it("behind a plaintext listener, where there is never a certificate, the allow-list answers UNAUTHENTICATED", async () => {
    const plainServer = new grpc.Server({ interceptors: [callerAllowList(["sluice-gateway"])] });
    new HealthImplementation({ "": "SERVING" }).addToServer(plainServer);
    try {
      const port = await new Promise<number>((resolveBind, rejectBind) => {
        plainServer.bindAsync("127.0.0.1:0", serverCredentials(undefined), (err, p) =>
          err ? rejectBind(err) : resolveBind(p),
        );
      });
      const client = new Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
      clients.push(client);
      assert.deepEqual(await check(client), {
        code: grpc.status.UNAUTHENTICATED,
        details: "a client certificate is required",
      });
    } finally {
      plainServer.forceShutdown();
    }
  });

  void it("callerAllowList needs at least one CN", () => {
    assert.throws(() => callerAllowList([]), { code: "CONFIG_INVALID" });
  });
});

void describe("assertListenAllowed", () => {
  const plain = { tls: false, allowInsecureNonLoopback: false };

  void it("lets plaintext bind loopback addresses", () => {
    assert.deepEqual(assertListenAllowed("127.0.0.1:50051", plain), { host: "127.0.0.1", port: 50051 });
    assert.deepEqual(assertListenAllowed("[::1]:50051", plain), { host: "::1", port: 50051 });
    assert.deepEqual(assertListenAllowed("localhost:0", plain), { host: "localhost", port: 0 });
    assert.deepEqual(assertListenAllowed("LocalHost:7", plain), { host: "LocalHost", port: 7 });
    assert.deepEqual(assertListenAllowed("127.8.9.10:1", plain), { host: "127.8.9.10", port: 1 });
    assert.deepEqual(assertListenAllowed("[::ffff:127.0.0.1]:1", plain), { host: "::ffff:127.0.0.1", port: 1 });
  });

  void it("refuses plaintext on wildcard, LAN and named hosts, saying how to fix it", () => {
    for (const listen of [
      "0.0.0.0:50051",
      "[::]:50051",
      "192.168.1.20:50051",
      "[fe80::1]:50051",
      "[::ffff:10.0.0.1]:50051",
      "models.internal:50051",
      "localhost.localdomain:50051",
    ]) {
      assert.throws(
        () => assertListenAllowed(listen, plain),
        (err: unknown) => {
          assert.ok(err instanceof SluiceError, listen);
          assert.equal(err.code, "CONFIG_INVALID");
          assert.match(
            err.message,
            new RegExp(`^modelServer\\.listen "${listen.replace(/[.[\]]/g, "\\$&")}" is not a loopback address`),
          );
          assert.match(
            err.message,
            /Set modelServer\.tls .*sluice certs init.*listen on 127\.0\.0\.1.*modelServer\.allowInsecureNonLoopback: true/,
          );
          return true;
        },
      );
    }
  });

  void it("allows any host with TLS, or with allowInsecureNonLoopback", () => {
    assert.deepEqual(assertListenAllowed("0.0.0.0:50051", { tls: true, allowInsecureNonLoopback: false }), {
      host: "0.0.0.0",
      port: 50051,
    });
    assert.deepEqual(assertListenAllowed("[::]:50051", { tls: false, allowInsecureNonLoopback: true }), {
      host: "::",
      port: 50051,
    });
  });

  void it("rejects what is not host:port", () => {
    for (const listen of [
      "50051",
      "127.0.0.1",
      "::1:50051",
      "[::1]",
      "[models]:1",
      "127.0.0.1:65536",
      "127.0.0.1:port",
      "unix:/tmp/models.sock",
      "",
    ]) {
      assert.throws(
        () => assertListenAllowed(listen, { tls: true, allowInsecureNonLoopback: true }),
        { code: "CONFIG_INVALID", message: /^modelServer\.listen must be host:port/ },
        listen,
      );
    }
  });
});
