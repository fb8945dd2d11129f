/**
 * Preload (`node --import tsx --import ./tests/helpers/record-modules.ts …`) that writes every
 * module the process loads to $SLUICE_MODULE_LOG: ES modules as the resolve hook sees them, and
 * CommonJS modules from require.cache at exit. Tests use it to prove what a process never loads.
 */
import { appendFileSync } from "node:fs";
import { createRequire, register } from "node:module";

const log = process.env["SLUICE_MODULE_LOG"];
if (log) {
  // The hooks run on their own thread, with the same environment.
  const hooks = `
    import { appendFileSync } from "node:fs";
    export async function resolve(specifier, context, next) {
      const result = await next(specifier, context);
      appendFileSync(${JSON.stringify(log)}, result.url + "\\n");
      return result;
    }`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  const require = createRequire(import.meta.url);
  process.on("exit", () =>
    appendFileSync(
      log,
      Object.keys(require.cache)
        .map((p) => `file://${p}\n`)
        .join(""),
    ),
  );
}
