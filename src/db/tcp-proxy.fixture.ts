import { connect, createServer, type AddressInfo, type Server, type Socket } from "node:net";

/** A TCP proxy a test can cut off and bring back. */
export interface TcpProxy {
  /** `host:port` of the proxy on loopback (the same port after a restart). */
  readonly port: number;
  /** Cuts every connection and refuses new ones. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

/**
 * A TCP proxy in front of a shared server (Redis, PostgreSQL), so a test can take the server away
 * from the code under test and bring it back without stopping the real one.
 *
 * @example
 * const proxy = await tcpProxy("127.0.0.1", 5432);
 * await proxy.stop(); // the code under test sees the server go away
 * await proxy.start();
 */
export async function tcpProxy(host: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | null = null;
  let port = 0;
  const start = () =>
    new Promise<void>((resolve) => {
      server = createServer((client) => {
        const upstream = connect(targetPort, host);
        for (const [from, to] of [
          [client, upstream],
          [upstream, client],
        ] as const) {
          sockets.add(from);
          from.on("error", () => undefined);
          from.on("close", () => to.destroy());
          from.pipe(to);
        }
      });
      server.listen(port, "127.0.0.1", () => {
        port = (server!.address() as AddressInfo).port;
        resolve();
      });
    });
  await start();
  return {
    get port() {
      return port;
    },
    start,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        sockets.clear();
        if (!server?.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
