import { realpathSync } from "node:fs";
import { realpath } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";
import { SluiceError } from "../contracts/errors.ts";

const GLOB = /[*?[\]{}]/;

/**
 * The real (symlink-free) directories request paths must stay under: the configured list
 * (`ingest.allowedRoots`, which env SLUICE_INGEST_ROOTS overrides), else `cwd`. Roots that do not
 * exist are dropped (nothing can be under them).
 *
 * @example
 * const roots = allowedRoots(config.ingest.allowedRoots, process.cwd());
 */
export function allowedRoots(configured: readonly string[] | undefined, cwd: string): string[] {
  const roots = configured?.length ? configured : [cwd];
  return roots.flatMap((r) => {
    try {
      return [realpathSync(resolve(cwd, r))];
    } catch {
      return [];
    }
  });
}

/** Whether a real path is one of the roots or below one. */
export function insideRoots(realPath: string, roots: readonly string[]): boolean {
  return roots.some((root) => {
    const rel = relative(root, realPath);
    return rel === "" || (!rel.startsWith(`..${sep}`) && rel !== ".." && !isAbsolute(rel));
  });
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
async function realish(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = resolve(path, "..");
    if (parent === path) return path;
    return resolve(await realish(parent), relative(parent, path));
  }
}

/**
 * Refuses (PATH_FORBIDDEN, 403) a path from a request that is not plainly under an allowed root:
 * NUL bytes, `..` escapes, absolute paths elsewhere, symlinks that lead out, and percent-encoded
 * forms of any of these. For a glob, its fixed leading part is checked (each file it matches is
 * checked again when the paths are expanded).
 *
 * @example
 * await assertAllowedPath("../etc/passwd", roots, cwd); // throws PATH_FORBIDDEN
 */
export async function assertAllowedPath(input: string, roots: readonly string[], cwd: string): Promise<void> {
  const forbidden = () =>
    new SluiceError("PATH_FORBIDDEN", `path "${input.replace(/\0/g, "\\0")}" is outside the allowed ingest roots`, {
      details: { path: input },
    });
  if (input.includes("\0")) throw forbidden();
  const forms = new Set([input]);
  try {
    forms.add(decodeURIComponent(input));
  } catch {
    throw forbidden(); // a malformed escape is not a path anyone meant
  }
  for (const form of forms) {
    if (form.includes("\0")) throw forbidden();
    const segments = form.split(/[\\/]/);
    const firstGlob = segments.findIndex((s) => GLOB.test(s));
    const fixed = (firstGlob < 0 ? segments : segments.slice(0, firstGlob)).join("/") || (isAbsolute(form) ? "/" : ".");
    if (!insideRoots(await realish(resolve(cwd, fixed)), roots)) throw forbidden();
  }
}
