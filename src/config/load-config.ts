import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseDocument } from "yaml";
import { SluiceError } from "../contracts/errors.ts";
import { SluiceConfigSchema, type SluiceConfig } from "./schema.ts";

/**
 * Reads `sluice.yaml` (or the file named), validates it and fills defaults. A missing default
 * file means defaults; a missing file the user named, bad YAML or a bad field is CONFIG_INVALID
 * naming the file and the field.
 *
 * @example
 * const config = loadConfig({ path: "sluice.yaml", explicit: false });
 */
export function loadConfig(options: { path?: string; explicit?: boolean } = {}): SluiceConfig {
  const path = resolve(options.path ?? "sluice.yaml");
  if (!existsSync(path)) {
    if (options.explicit) throw new SluiceError("CONFIG_INVALID", `config file not found: ${path}`, { details: { path } });
    return SluiceConfigSchema.parse({});
  }
  const doc = parseDocument(readFileSync(path, "utf8"));
  if (doc.errors.length > 0) throw new SluiceError("CONFIG_INVALID", `${path}: invalid YAML: ${doc.errors[0]!.message}`, { details: { path } });
  return parseConfig(doc.toJS() ?? {}, path);
}

export function parseConfig(raw: unknown, source = "config"): SluiceConfig {
  const parsed = SluiceConfigSchema.safeParse(raw);
  if (!parsed.success) {
    const reasons = parsed.error.issues.map((i) => `${i.path.length ? `field "${i.path.join(".")}"` : "config"}: ${i.message}`);
    throw new SluiceError("CONFIG_INVALID", `${source}: ${reasons.join("; ")}`, { details: { source, issues: reasons } });
  }
  return parsed.data;
}
