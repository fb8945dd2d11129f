import { spawn } from "node:child_process";
import type { Command } from "commander";
import { SluiceError } from "../../contracts/errors.ts";
import { withSluice } from "../context.ts";
import { println } from "../output.ts";

/**
 * Opens `url` in the desktop's browser (xdg-open, open, start) when there is a desktop; where
 * there is none (a server, CI) it does nothing: the URL is printed either way.
 */
function openBrowser(url: string): void {
  const command =
    process.platform === "darwin"
      ? "open"
      : process.platform === "win32"
        ? "explorer"
        : process.env["DISPLAY"] || process.env["WAYLAND_DISPLAY"]
          ? "xdg-open"
          : null;
  if (!command) return;
  const child = spawn(command, [url], { stdio: "ignore", detached: true });
  child.on("error", () => undefined);
  child.unref();
}

export function registerServe(program: Command): void {
  program
    .command("serve")
    .description(
      "serve the HTTP API (/v1, OpenAPI at /openapi.json) and the web console (/), and run ingest jobs in this process",
    )
    .option("--port <n>", "port (default: server.port in config, 8080)")
    .option("--host <host>", "address to bind (default: server.host in config, 127.0.0.1)")
    .option("--no-worker", "a gateway only: accept and answer, and leave the jobs to `sluice worker` processes")
    .option("--open", "print the web console's URL and open it in this machine's browser, where there is one")
    .action(async (opts: { port?: string; host?: string; worker: boolean; open?: boolean }, command: Command) => {
      await withSluice(
        command,
        async (sluice) => {
          const [{ buildApp }, { resolveAuthSettings }, { assertServeSecurity }] = await Promise.all([
            import("../../api/app.ts"),
            import("../../api/auth/auth-settings.ts"),
            import("../../api/auth/startup-check.ts"),
          ]);
          const port = opts.port !== undefined ? Number(opts.port) : sluice.config.server.port;
          if (!Number.isInteger(port) || port < 0 || port > 65535)
            throw new SluiceError("VALIDATION_FAILED", `--port must be 0-65535, got "${opts.port}"`);
          const host = opts.host ?? sluice.config.server.host;
          // Before binding: no unprotected API off loopback or in production, no weak secret in production.
          const auth = await resolveAuthSettings({ config: sluice.config.auth, env: process.env, cwd: sluice.cwd });
          assertServeSecurity({ host, settings: auth, environment: sluice.config.environment });
          // runJobs: the same process runs the jobs the API accepts (started on ready, stopped on close).
          const app = await buildApp(sluice, { runJobs: opts.worker, auth });
          sluice.startReaders();
          const address = await app.listen({ port, host });
          println(`sluice listening on ${address} (data ${sluice.dataDir})`);
          println(`console: ${address}/`);
          if (opts.open) openBrowser(`${address}/`);
          await new Promise<void>((resolveStop) => {
            process.once("SIGINT", () => resolveStop());
            process.once("SIGTERM", () => resolveStop());
          });
          await app.close();
        },
        { server: true },
      );
    });
}
