import type { Command } from "commander";
import { SluiceError } from "../../contracts/errors.ts";
import type { DevCertificatePaths } from "../../model-server/tls/dev-certs.ts";
import { globals } from "../context.ts";
import { printJson, println } from "../output.ts";

interface InitOptions {
  dir: string;
  serverName?: string[];
  client?: string[];
  days: string;
  force?: boolean;
}

/**
 * Registers `sluice certs init`, which makes a development CA with server and client
 * certificates for mTLS between the gateway and `sluice model-server`, and prints the
 * sluice.yaml blocks that use them. It opens no data directory: certificates belong to no index.
 *
 * @example
 * registerCerts(program);
 * // sluice certs init --dir certs --server-name models.internal --client sluice-gateway worker-1
 */
export function registerCerts(program: Command): void {
  const certs = program.command("certs").description("TLS certificates for the model server and its clients");
  certs
    .command("init")
    .description("make a DEVELOPMENT CA, a server certificate and client certificates (ECDSA P-256) for mTLS")
    .option("--dir <dir>", "where the PEM files go", "certs")
    .option(
      "--server-name <name...>",
      "extra DNS names or IPs for the server certificate (localhost, 127.0.0.1 and ::1 are always in)",
    )
    .option("--client <cn...>", "client certificate CNs, one certificate each (default: sluice-gateway)")
    .option("--days <n>", "validity in days", "365")
    .option("--force", "replace existing files (invalidates everything the old CA signed)")
    .action(async (opts: InitOptions, command: Command) => {
      const g = globals(command);
      const days = Number(opts.days);
      if (!Number.isInteger(days))
        throw new SluiceError("VALIDATION_FAILED", `--days must be a whole number, got "${opts.days}"`);
      // Imported here: x509 and its polyfill cost every other command's start-up otherwise.
      const { createDevCertificates } = await import("../../model-server/tls/dev-certs.ts");
      const paths = await createDevCertificates({
        dir: opts.dir,
        days,
        force: opts.force ?? false,
        ...(opts.serverName ? { serverNames: opts.serverName } : {}),
        ...(opts.client ? { clientNames: opts.client } : {}),
      });
      const config = configFor(paths);
      if (g.json) return printJson({ ...paths, development: true, config });
      println(`DEVELOPMENT certificates in ${paths.dir}, valid until ${paths.notAfter}.`);
      println(
        "Not for production: the CA key lies next to the certificates it signed, and anyone holding it can mint clients.",
      );
      for (const file of paths.files)
        println(`  ${file}${file.endsWith("-key.pem") ? "  (private key, mode 0600)" : ""}`);
      println();
      println("sluice.yaml of the model server (any listen address is allowed once tls is set):");
      const { stringify } = await import("yaml");
      println(indent(stringify({ modelServer: config.modelServer })));
      println(`sluice.yaml of the gateway and workers (certificate of client "${paths.clients[0]!.name}"):`);
      println(indent(stringify({ models: config.models })));
      if (paths.clients.length > 1)
        println(`The other clients use their own client-<name>.pem and client-<name>-key.pem in the same way.`);
    });
}

/** The config blocks that use these files; absolute paths, so they work whatever directory sluice starts in. */
function configFor(paths: DevCertificatePaths): {
  modelServer: { tls: { ca: string; cert: string; key: string; allowedClients: string[] } };
  models: { mode: "remote"; remote: { tls: { ca: string; cert: string; key: string } } };
} {
  const gateway = paths.clients[0]!;
  return {
    modelServer: {
      tls: {
        ca: paths.ca.cert,
        cert: paths.server.cert,
        key: paths.server.key,
        allowedClients: paths.clients.map((c) => c.name),
      },
    },
    models: { mode: "remote", remote: { tls: { ca: paths.ca.cert, cert: gateway.cert, key: gateway.key } } },
  };
}

function indent(text: string): string {
  return text
    .trimEnd()
    .split("\n")
    .map((line) => `  ${line}`)
    .join("\n");
}
