import { webcrypto } from "node:crypto";
import { chmod, mkdir, stat, writeFile } from "node:fs/promises";
import { isIP } from "node:net";
import { join, resolve } from "node:path";
// @peculiar/x509 registers its algorithms with tsyringe, which needs the Reflect metadata API first.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { SluiceError } from "../../contracts/errors.ts";

// Node's webcrypto, not a polyfill: the extension helpers (key identifiers) use the global provider.
x509.cryptoProvider.set(webcrypto);

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING_ALGORITHM = { name: "ECDSA", hash: "SHA-256" } as const;
/** A client name becomes part of a file name, so it must not be able to climb out of `dir`. */
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

export interface DevCertificateOptions {
  /** Directory the PEM files go to; created if missing. */
  dir: string;
  /** Extra server SANs (DNS names or IP addresses) besides localhost, 127.0.0.1 and ::1. */
  serverNames?: readonly string[];
  /** One client certificate per name, with CN = name. Default `["sluice-gateway"]`. */
  clientNames?: readonly string[];
  /** Validity in days. Default 365. */
  days?: number;
  /** Overwrite files that already exist. */
  force?: boolean;
}

export interface DevCertificatePaths {
  dir: string;
  ca: { cert: string; key: string };
  server: { cert: string; key: string; names: string[] };
  clients: Array<{ name: string; cert: string; key: string }>;
  /** Every file written, certificates and keys alike. */
  files: string[];
  notAfter: string;
}

interface Issued {
  cert: x509.X509Certificate;
  keys: webcrypto.CryptoKeyPair;
}

/**
 * Makes a development PKI for mTLS between the gateway and `sluice model-server`: a CA, a server
 * certificate and one client certificate per caller, all ECDSA P-256. Private keys are PKCS#8 and
 * mode 0600. Existing files are never overwritten unless `force` is set, because replacing a CA
 * silently breaks every certificate it signed. For development only: the CA key sits next to the
 * certificates it signs.
 *
 * @example
 * const paths = await createDevCertificates({ dir: "certs", clientNames: ["sluice-gateway", "worker-1"] });
 * // paths.ca.cert === "/abs/certs/ca.pem", paths.clients[1].cert === "/abs/certs/client-worker-1.pem"
 */
export async function createDevCertificates(options: DevCertificateOptions): Promise<DevCertificatePaths> {
  const dir = resolve(options.dir);
  const days = options.days ?? 365;
  if (!Number.isInteger(days) || days < 1 || days > 3650)
    throw new SluiceError("VALIDATION_FAILED", `days must be a whole number from 1 to 3650, got ${days}`);
  const clientNames = [...new Set(options.clientNames ?? ["sluice-gateway"])];
  if (clientNames.length === 0) throw new SluiceError("VALIDATION_FAILED", "at least one client name is needed");
  for (const name of clientNames) {
    if (!CLIENT_NAME.test(name))
      throw new SluiceError(
        "VALIDATION_FAILED",
        `client name "${name}" must be 1-64 letters, digits, ".", "_" or "-" (it names the file client-<name>.pem)`,
      );
  }
  const serverNames = [...new Set(["localhost", "127.0.0.1", "::1", ...(options.serverNames ?? [])])];

  const paths: DevCertificatePaths = {
    dir,
    ca: { cert: join(dir, "ca.pem"), key: join(dir, "ca-key.pem") },
    server: { cert: join(dir, "server.pem"), key: join(dir, "server-key.pem"), names: serverNames },
    clients: clientNames.map((name) => ({
      name,
      cert: join(dir, `client-${name}.pem`),
      key: join(dir, `client-${name}-key.pem`),
    })),
    files: [],
    notAfter: "",
  };
  const all = [paths.ca, paths.server, ...paths.clients].flatMap((p) => [p.cert, p.key]);
  // Check everything before writing anything, so a refusal never leaves a half-replaced set behind.
  if (!options.force) {
    for (const file of all) {
      if (await exists(file))
        throw new SluiceError(
          "CONFIG_INVALID",
          `${file} already exists; pass force (--force) to replace it, which invalidates every certificate signed by the old CA`,
          { details: { file } },
        );
    }
  }

  // Backdated a little so a peer whose clock runs slightly behind still accepts them.
  const notBefore = new Date(Date.now() - 5 * 60_000);
  const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
  const ca = await issueCa(notBefore, notAfter);
  const server = await issueLeaf(
    ca,
    "sluice-model-server",
    x509.ExtendedKeyUsage.serverAuth,
    serverNames,
    notBefore,
    notAfter,
  );
  const clients = await Promise.all(
    clientNames.map((name) => issueLeaf(ca, name, x509.ExtendedKeyUsage.clientAuth, [], notBefore, notAfter)),
  );

  await mkdir(dir, { recursive: true });
  const pairs: Array<[{ cert: string; key: string }, Issued]> = [
    [paths.ca, ca],
    [paths.server, server],
    ...paths.clients.map((p, i): [typeof p, Issued] => [p, clients[i]!]),
  ];
  for (const [p, issued] of pairs) {
    await writePem(p.cert, issued.cert.toString("pem"), 0o644, options.force ?? false);
    await writePem(p.key, await privateKeyPem(issued.keys.privateKey), 0o600, options.force ?? false);
    paths.files.push(p.cert, p.key);
  }
  paths.notAfter = notAfter.toISOString();
  return paths;
}

async function issueCa(notBefore: Date, notAfter: Date): Promise<Issued> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: [{ CN: ["Sluice Development CA"] }, { O: ["Sluice (development only)"] }],
    keys,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions: [
      // pathLength 0: this CA signs leaves only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function issueLeaf(
  ca: Issued,
  commonName: string,
  usage: x509.ExtendedKeyUsage,
  sans: readonly string[],
  notBefore: Date,
  notAfter: Date,
): Promise<Issued> {
  const keys = await generateKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    // ECDHE key exchange: the certificate key only ever signs the handshake.
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension([usage]),
    await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (sans.length > 0)
    extensions.push(
      new x509.SubjectAlternativeNameExtension(sans.map((value) => ({ type: isIP(value) ? "ip" : "dns", value }))),
    );
  const cert = await x509.X509CertificateGenerator.create({
    subject: [{ CN: [commonName] }, { O: ["Sluice (development only)"] }],
    issuer: ca.cert.subjectName,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    notBefore,
    notAfter,
    signingAlgorithm: SIGNING_ALGORITHM,
    extensions,
  });
  return { cert, keys };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return webcrypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function privateKeyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function writePem(file: string, pem: string, mode: number, force: boolean): Promise<void> {
  // "wx" closes the race between the existence check and the write; with force, an old file's
  // looser mode would survive writeFile, hence the explicit chmod.
  try {
    await writeFile(file, pem.endsWith("\n") ? pem : `${pem}\n`, { mode, flag: force ? "w" : "wx" });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "EEXIST")
      throw new SluiceError(
        "CONFIG_INVALID",
        `${file} appeared while the certificates were being made; pass force (--force) to replace it`,
        { details: { file }, cause: err },
      );
    throw err;
  }
  await chmod(file, mode);
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return false;
    throw err;
  }
}
