import { extname } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, type Transferable } from "node:worker_threads";

/**
 * Starts a worker thread on the entry module `name` in the folder of `base` (an `import.meta.url`):
 * `name.js` in `dist/`, `name.ts` under tsx. Node 20 does not apply the `--import tsx` hooks a
 * worker inherits to the worker's own entry, so under tsx the thread registers them itself
 * before importing it (registering twice, where Node does apply them, is harmless).
 *
 * @example
 * const worker = startThread(import.meta.url, "index-write-thread-entry", { path });
 */
export function startThread(
  base: string,
  name: string,
  workerData: unknown,
  transferList: readonly Transferable[] = [],
): Worker {
  const ext = extname(fileURLToPath(base));
  const entry = new URL(`./${name}${ext}`, base);
  const options = { workerData, transferList: [...transferList] };
  if (ext !== ".ts") return new Worker(entry, options);
  const tsx = import.meta.resolve("tsx/esm/api");
  const boot = `import(${JSON.stringify(tsx)}).then((m) => m.register()).then(() => import(${JSON.stringify(entry.href)}))`;
  return new Worker(boot, { eval: true, ...options });
}
