/**
 * The source tests' replay server (recorded scholarly API responses) in a process of its own, for
 * `bench:sources`: an API runs elsewhere, so reading and sending its recordings should not take CPU
 * from the adapters being measured. Prints its URL on the first line of stdout, then serves until
 * it gets SIGTERM.
 *
 *   node --import tsx bench/replay-server-process.ts   # http://127.0.0.1:<port>
 */
import { startReplayServer } from "../tests/helpers/replay-server.ts";

const server = await startReplayServer();
console.log(server.url);
process.once("SIGTERM", () => {
  void server.close().then(() => process.exit(0));
});
