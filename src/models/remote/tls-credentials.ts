import { X509Certificate, createPrivateKey, type KeyObject } from "node:crypto";
import { readFileSync } from "node:fs";
import { isIP } from "node:net";
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { SluiceError } from "../../contracts/errors.ts";

/**
 * The transport security both ends of the model plane share: PEM loading with messages that name
 * the config field, server and channel credentials for mutual TLS, the loopback-only rule for
 * plaintext, and the client-certificate CN allow-list.
 */

/** Paths of the PEM files, as in `modelServer.tls` and `models.remote.tls`. */
export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** The PEM bytes grpc-js wants, read and checked. */
export interface TlsMaterial {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads the CA, certificate and key, and checks them before grpc-js sees them: grpc-js only fails
 * at bind or connect time, with an OpenSSL message that names no file. Stops with
 * CONFIG_INVALID naming the field (`${where}.key`) and the path when a file is missing,
 * unreadable, not PEM, expired, or when the key does not belong to the certificate.
 *
 * @example
 * const pem = readTlsFiles(config.modelServer.tls, "modelServer.tls");
 * // throws: modelServer.tls.key: cannot read /etc/sluice/server-key.pem (ENOENT) ...
 */
export function readTlsFiles(files: TlsFiles, where: string): TlsMaterial {
  const ca = readPem(files.ca, `${where}.ca`, "CERTIFICATE");
  const cert = readPem(files.cert, `${where}.cert`, "CERTIFICATE");
  const key = readPem(files.key, `${where}.key`, "PRIVATE KEY");
  const leaf = checked(
    () => new X509Certificate(cert),
    `${where}.cert`,
    files.cert,
    "is not a readable X.509 certificate",
  );
  checked(() => new X509Certificate(ca), `${where}.ca`, files.ca, "is not a readable X.509 certificate");
  const privateKey: KeyObject = checked(
    () => createPrivateKey(key),
    `${where}.key`,
    files.key,
    "is not a readable private key (encrypted keys are not supported)",
  );
  if (!leaf.checkPrivateKey(privateKey)) {
    throw invalid(`${where}.key`, files.key, `is not the private key of ${where}.cert (${resolve(files.cert)})`);
  }
  if (Date.parse(leaf.validTo) < Date.now()) {
    throw invalid(
      `${where}.cert`,
      files.cert,
      `expired on ${new Date(leaf.validTo).toISOString()}; issue a new one (for development: sluice certs init --force)`,
    );
  }
  return { ca, cert, key };
}

/**
 * Server credentials for `sluice model-server`: mutual TLS, with client certificates required and
 * checked against the CA, or plaintext when `tls` is absent (pair that with
 * {@link assertListenAllowed}). Who may call is decided afterwards by {@link callerAllowList}.
 *
 * @example
 * const server = new grpc.Server({ interceptors: tls ? [callerAllowList(tls.allowedClients)] : [] });
 * server.bindAsync(listen, serverCredentials(tls), (err, port) => { ... });
 */
export function serverCredentials(tls: TlsFiles | undefined, where = "modelServer.tls"): grpc.ServerCredentials {
  if (!tls) return grpc.ServerCredentials.createInsecure();
  const pem = readTlsFiles(tls, where);
  return grpc.ServerCredentials.createSsl(pem.ca, [{ private_key: pem.key, cert_chain: pem.cert }], true);
}

/** What a gateway or worker needs to open a channel to the model server. */
export interface ClientTransport {
  credentials: grpc.ChannelCredentials;
  options: grpc.ChannelOptions;
}

/**
 * Channel credentials for the model client: this client's certificate and key, and the CA that
 * must have signed the server. `serverName` checks the server certificate against that name
 * instead of the host in the address (a server reached by IP whose certificate names a host).
 * Plaintext when `tls` is absent.
 *
 * @example
 * const { credentials, options } = clientCredentials(config.models.remote.tls);
 * const client = new EmbedClient(config.models.remote.address, credentials, options);
 */
export function clientCredentials(
  tls: (TlsFiles & { serverName?: string | undefined }) | undefined,
  where = "models.remote.tls",
): ClientTransport {
  if (!tls) return { credentials: grpc.credentials.createInsecure(), options: {} };
  const pem = readTlsFiles(tls, where);
  return {
    credentials: grpc.credentials.createSsl(pem.ca, pem.key, pem.cert),
    options: tls.serverName ? { "grpc.ssl_target_name_override": tls.serverName } : {},
  };
}

/**
 * Parses `host:port` (`[::1]:50051` for IPv6) and refuses to serve plaintext on anything but
 * loopback: an unauthenticated model server on a LAN address lets anyone on that network spend
 * its GPU and read what it is sent. Returns the host (IPv6 without brackets) and port.
 *
 * @example
 * assertListenAllowed("127.0.0.1:50051", { tls: false, allowInsecureNonLoopback: false });
 * // { host: "127.0.0.1", port: 50051 }
 * assertListenAllowed("0.0.0.0:50051", { tls: false, allowInsecureNonLoopback: false }); // throws CONFIG_INVALID
 */
export function assertListenAllowed(
  listen: string,
  options: { tls: boolean; allowInsecureNonLoopback: boolean },
): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(listen.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (!match || !host || port > 65535 || (match[1] !== undefined && isIP(match[1]) !== 6)) {
    throw new SluiceError(
      "CONFIG_INVALID",
      `modelServer.listen must be host:port (IPv6 in brackets: [::1]:50051), got "${listen}"`,
      { details: { listen } },
    );
  }
  if (!options.tls && !options.allowInsecureNonLoopback && !isLoopback(host)) {
    throw new SluiceError(
      "CONFIG_INVALID",
      `modelServer.listen "${listen}" is not a loopback address and modelServer.tls is not set: anyone who can reach it could call the models. ` +
        `Set modelServer.tls (for development, "sluice certs init" makes the certificates), listen on 127.0.0.1, ` +
        `or set modelServer.allowInsecureNonLoopback: true if the network itself is trusted`,
      { details: { listen, host } },
    );
  }
  return { host, port };
}

function isLoopback(host: string): boolean {
  const h = host.toLowerCase();
  if (h === "localhost" || h === "::1") return true;
  // All of 127.0.0.0/8 is loopback, also when written as an IPv4-mapped IPv6 address.
  const v4 = h.startsWith("::ffff:") ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith("127.");
}

/**
 * A grpc-js server interceptor that lets through only callers whose client certificate CN is in
 * `allowedClients`, on every method of every service, health included. mTLS alone only proves the
 * CA signed the certificate; this decides which of those certificates may call. No certificate
 * ends the call with UNAUTHENTICATED, an unlisted CN with PERMISSION_DENIED, before the handler
 * starts. Put it first in `interceptors` so later interceptors never see a refused call.
 *
 * @example
 * const server = new grpc.Server({ interceptors: [callerAllowList(["sluice-gateway"])] });
 */
export function callerAllowList(allowedClients: readonly string[]): grpc.ServerInterceptor {
  if (allowedClients.length === 0)
    throw new SluiceError(
      "CONFIG_INVALID",
      "modelServer.tls.allowedClients must name at least one client certificate CN",
    );
  const allowed = new Set(allowedClients);
  const list = [...allowed].map((cn) => `"${cn}"`).join(", ");
  return (_method, call) => {
    const listener = new grpc.ServerListenerBuilder()
      .withOnReceiveMetadata((metadata, next) => {
        const refusal = refuse(call.getAuthContext(), allowed, list);
        // Not calling next() keeps the handler from ever starting; the status ends the call.
        if (refusal) call.sendStatus(refusal);
        else next(metadata);
      })
      .build();
    return new grpc.ServerInterceptingCall(
      call,
      new grpc.ResponderBuilder().withStart((next) => next(listener)).build(),
    );
  };
}

function refuse(
  auth: ReturnType<grpc.ServerInterceptingCallInterface["getAuthContext"]>,
  allowed: ReadonlySet<string>,
  list: string,
): { code: grpc.status; details: string } | undefined {
  // grpc-js reports a certificate only for an authorized TLS socket, i.e. one the CA vouched for.
  const peer = auth.sslPeerCertificate;
  if (!peer) return { code: grpc.status.UNAUTHENTICATED, details: "a client certificate is required" };
  // Node gives an array when the subject carries several CNs; such a name is ambiguous, so refuse it.
  const cn: unknown = peer.subject?.CN;
  if (typeof cn !== "string")
    return {
      code: grpc.status.PERMISSION_DENIED,
      details: `client certificate has no single subject CN; allowed: ${list}`,
    };
  if (!allowed.has(cn))
    return {
      code: grpc.status.PERMISSION_DENIED,
      details: `client certificate CN "${cn}" is not allowed; allowed: ${list}`,
    };
  return undefined;
}

function readPem(path: string, field: string, label: "CERTIFICATE" | "PRIVATE KEY"): Buffer {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw invalid(field, path, `cannot be read (${code})`, err);
  }
  // Matches PRIVATE KEY, EC PRIVATE KEY and RSA PRIVATE KEY blocks alike.
  const pattern = label === "CERTIFICATE" ? /-----BEGIN CERTIFICATE-----/ : /-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----/;
  if (!pattern.test(bytes.toString("latin1"))) throw invalid(field, path, `is not a PEM file with a ${label} block`);
  return bytes;
}

function checked<T>(fn: () => T, field: string, path: string, problem: string): T {
  try {
    return fn();
  } catch (err) {
    throw invalid(field, path, problem, err);
  }
}

function invalid(field: string, path: string, problem: string, cause?: unknown): SluiceError {
  return new SluiceError("CONFIG_INVALID", `${field}: ${resolve(path)} ${problem}`, {
    details: { field, path: resolve(path) },
    cause,
  });
}
