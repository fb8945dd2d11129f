import { existsSync } from "node:fs";
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
    if (!existsSync(path)) throw new SluiceError("PATH_NOT_FOUND", `pipeline file not found: ${path}`, { details: { pipeline: name } });
    return path;
  }
  if (!/^[a-z][a-z0-9_-]{0,63}$/.test(name)) throw new SluiceError("PIPELINE_INVALID", `invalid pipeline name "${name}"`, { details: { pipeline: name } });
  const path = join(SHIPPED_PIPELINES, `${name}.yaml`);
  if (!existsSync(path)) throw new SluiceError("PIPELINE_INVALID", `unknown pipeline "${name}"; use a shipped one (${shippedNames().join(", ")}) or a path to a .yaml file`, { details: { pipeline: name } });
  return path;
}

function shippedNames(): string[] {
  return ["auto", "hybrid-sparse"].filter((n) => existsSync(join(SHIPPED_PIPELINES, `${n}.yaml`)));
}
