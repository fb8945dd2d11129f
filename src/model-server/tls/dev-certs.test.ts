import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey } from "node:crypto";
import { chmod, mkdtemp, readFile, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as tls from "node:tls";
import { SluiceError } from "../../contracts/errors.ts";
import { createDevCertificates, type DevCertificatePaths } from "./dev-certs.ts";

const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

async function cert(path: string): Promise<X509Certificate> {
  return new X509Certificate(await readFile(path));
}

/** A real Node TLS handshake with client certificates required: what grpc-js does underneath. */
async function handshake(
  paths: DevCertificatePaths,
  client: { cert: string; key: string },
): Promise<{ serverSawCn: unknown; clientAuthorized: boolean }> {
  const read = (p: string): Promise<Buffer> => readFile(p);
  const [ca, serverCert, serverKey, clientCert, clientKey] = await Promise.all([
    read(paths.ca.cert),
    read(paths.server.cert),
    read(paths.server.key),
    read(client.cert),
    read(client.key),
  ]);
  const server = tls.createServer({
    ca,
    cert: serverCert,
    key: serverKey,
    requestCert: true,
    rejectUnauthorized: true,
  });
  try {
    const serverSawCn = new Promise<unknown>((resolveCn) =>
      server.once("secureConnection", (socket) => resolveCn(socket.getPeerCertificate().subject?.CN)),
    );
    await new Promise<void>((resolveListen) => server.listen(0, "127.0.0.1", resolveListen));
    const { port } = server.address() as { port: number };
    const socket = tls.connect({ host: "127.0.0.1", port, ca, cert: clientCert, key: clientKey });
    await new Promise<void>((resolveConnect, rejectConnect) => {
      socket.once("secureConnect", resolveConnect);
      socket.once("error", rejectConnect);
    });
    const clientAuthorized = socket.authorized;
    const cn = await serverSawCn;
    socket.destroy();
    return { serverSawCn: cn, clientAuthorized };
  } finally {
    server.close();
  }
}

void describe("createDevCertificates", () => {
  let dir: string;
  let paths: DevCertificatePaths;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "sluice-dev-certs-"));
    paths = await createDevCertificates({
      dir: join(dir, "certs"),
      serverNames: ["models.internal", "10.1.2.3"],
      clientNames: ["sluice-gateway", "worker-1"],
      days: 30,
    });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it("writes the CA, the server and one pair per client, keys PKCS#8 with mode 0600", async () => {
    const names = [
      "ca.pem",
      "ca-key.pem",
      "server.pem",
      "server-key.pem",
      "client-sluice-gateway.pem",
      "client-sluice-gateway-key.pem",
      "client-worker-1.pem",
      "client-worker-1-key.pem",
    ];
    assert.deepEqual(
      paths.files,
      names.map((n) => join(dir, "certs", n)),
    );
    assert.deepEqual((await readdir(join(dir, "certs"))).sort(), [...names].sort());
    for (const file of paths.files) {
      const mode = (await stat(file)).mode & 0o777;
      if (file.endsWith("-key.pem")) {
        assert.equal(mode, 0o600, file);
        const pem = await readFile(file, "utf8");
        assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
        const key = createPrivateKey(pem);
        assert.equal(key.asymmetricKeyType, "ec");
        assert.equal(key.asymmetricKeyDetails?.namedCurve, "prime256v1");
      } else {
        assert.equal(mode, 0o644, file);
      }
    }
  });

  void it("issues a CA and leaves with the right extensions, SANs and validity", async () => {
    const ca = await cert(paths.ca.cert);
    assert.equal(ca.ca, true);
    assert.ok(ca.checkIssued(ca));
    const server = await cert(paths.server.cert);
    assert.equal(server.ca, false);
    assert.ok(server.checkIssued(ca) && server.verify(ca.publicKey));
    assert.deepEqual(server.keyUsage, [SERVER_AUTH]);
    assert.equal(
      server.subjectAltName,
      "DNS:localhost, IP Address:127.0.0.1, IP Address:0:0:0:0:0:0:0:1, DNS:models.internal, IP Address:10.1.2.3",
    );
    assert.equal(server.checkHost("localhost"), "localhost");
    assert.equal(server.checkIP("::1"), "::1");
    assert.equal(server.checkHost("intruder.example"), undefined);
    const days = (Date.parse(server.validTo) - Date.parse(server.validFrom)) / 86_400_000;
    assert.ok(Math.abs(days - 30) < 1 / 24, `valid ${days} days`);
    // X.509 times have whole seconds; notAfter keeps the milliseconds.
    assert.ok(Math.abs(Date.parse(paths.notAfter) - Date.parse(server.validTo)) < 1_000);
    for (const [i, name] of ["sluice-gateway", "worker-1"].entries()) {
      const client = await cert(paths.clients[i]!.cert);
      assert.match(client.subject, new RegExp(`^CN=${name}$`, "m"));
      assert.deepEqual(client.keyUsage, [CLIENT_AUTH]);
      assert.ok(client.checkIssued(ca) && client.verify(ca.publicKey));
      assert.ok(client.checkPrivateKey(createPrivateKey(await readFile(paths.clients[i]!.key))));
    }
  });

  void it("is accepted by Node's TLS on both sides of a mutual handshake", async () => {
    assert.deepEqual(await handshake(paths, paths.clients[0]!), {
      serverSawCn: "sluice-gateway",
      clientAuthorized: true,
    });
  });

  void it("refuses to overwrite without force, naming the file, and changes nothing", async () => {
    const before = await readFile(paths.ca.cert, "utf8");
    await assert.rejects(
      createDevCertificates({ dir: join(dir, "certs"), clientNames: ["someone-new"] }),
      (err: unknown) => {
        assert.ok(err instanceof SluiceError);
        assert.equal(err.code, "CONFIG_INVALID");
        assert.match(
          err.message,
          new RegExp(`^${paths.ca.cert.replace(/[.]/g, "\\.")} already exists; pass force \\(--force\\)`),
        );
        return true;
      },
    );
    assert.equal(await readFile(paths.ca.cert, "utf8"), before);
    await assert.rejects(stat(join(dir, "certs", "client-someone-new.pem")), { code: "ENOENT" });
  });

  void it("with force replaces the files and puts key modes back to 0600", async () => {
    const oldCa = await readFile(paths.ca.cert, "utf8");
    await chmod(paths.server.key, 0o644);
    const again = await createDevCertificates({
      dir: join(dir, "certs"),
      clientNames: ["sluice-gateway", "worker-1"],
      force: true,
    });
    assert.notEqual(await readFile(again.ca.cert, "utf8"), oldCa);
    assert.equal((await stat(again.server.key)).mode & 0o777, 0o600);
    assert.ok((await cert(again.server.cert)).checkIssued(await cert(again.ca.cert)));
  });

  void it("rejects client names that could escape the directory, and bad validity", async () => {
    await assert.rejects(createDevCertificates({ dir: join(dir, "bad"), clientNames: ["../evil"] }), {
      code: "VALIDATION_FAILED",
    });
    await assert.rejects(createDevCertificates({ dir: join(dir, "bad"), days: 0 }), { code: "VALIDATION_FAILED" });
    await assert.rejects(stat(join(dir, "bad")), { code: "ENOENT" });
  });
});
