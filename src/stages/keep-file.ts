import { randomUUID } from "node:crypto";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/**
 * Writes the bytes under a temporary name, syncs them, then renames: a kept file is always whole,
 * and a process killed mid-write leaves the old file (or none), never half of one.
 *
 * @example
 * const path = await keepFile(join(dataDir, "downloads"), `${sha256}.pdf`, bytes);
 */
export async function keepFile(dir: string, name: string, bytes: Uint8Array): Promise<string> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, name);
  const temporary = join(dir, `.${name}.${randomUUID()}.tmp`);
  try {
    const file = await open(temporary, "w");
    try {
      await file.writeFile(bytes);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (err) {
    await rm(temporary, { force: true });
    throw err;
  }
  // The rename itself is durable once the folder is synced (not possible everywhere: best effort).
  const folder = await open(dir, "r").catch(() => undefined);
  await folder?.sync().catch(() => undefined);
  await folder?.close();
  return path;
}
