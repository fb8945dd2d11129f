import { existsSync, readdirSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SluiceError } from "../contracts/errors.ts";

/** The folder holding the shipped topologies (`pipelines/*.yaml`). */
export const SHIPPED_PIPELINES = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "pipelines");

/**
 * A pipeline name (`auto`) resolves to a shipped topology; anything ending in .yaml/.yml is a
 * file path relative to `cwd`.
 *
 * @example
 * resolvePipeline("auto") // …/pipelines/auto.yaml
 */
export function resolvePipeline(name: string, cwd = process.cwd()): string {
  if (/\.ya?ml$/i.test(name)) {
    const path = isAbsolute(name) ? name : resolve(cwd, name);
    if (!existsSync(path))
      throw new SluiceError("PATH_NOT_FOUND", `pipeline file not found: ${path}`, { details: { pipeline: name } });
    return path;
  }
  if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name))
    throw new SluiceError("PIPELINE_INVALID", `invalid pipeline name "${name}"`, { details: { pipeline: name } });
  const path = join(SHIPPED_PIPELINES, `${name}.yaml`);
  if (!existsSync(path)) {
    const shipped = shippedPipelines();
    throw new SluiceError(
      "PIPELINE_INVALID",
      `unknown pipeline "${name}"; use a shipped one (${shipped.join(", ")}) or a path to a .yaml file`,
      { details: { pipeline: name, shipped } },
    );
  }
  return path;
}

/**
 * The names of the shipped topologies: every `*.yaml` file in `dir`, without the extension, sorted.
 * A file added to `pipelines/` is offered without touching code.
 *
 * @example
 * shippedPipelines() // ["auto", "hybrid-sparse"]
 */
export function shippedPipelines(dir = SHIPPED_PIPELINES): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith(".yaml"))
    .map((entry) => entry.name.slice(0, -".yaml".length))
    .sort();
}
