import { existsSync } from "node:fs";
import type { Browser } from "playwright-core";

/** Where the browser tests find Chromium: env SLUICE_CHROMIUM, else Debian's package. */
export const CHROMIUM = process.env["SLUICE_CHROMIUM"] ?? "/usr/bin/chromium";

/** Why the browser tests cannot run here, or null when they can. */
export function browserSkipReason(): string | null {
  return existsSync(CHROMIUM)
    ? null
    : `no Chromium at ${CHROMIUM}: install Debian's (apt-get install chromium) or set SLUICE_CHROMIUM; .ci/run installs it`;
}

/**
 * Headless Chromium through playwright-core, with the flags that keep it off the network and
 * quiet (no sandbox: tests may run as root).
 *
 * @example
 * const browser = await launchChromium();
 * const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import("playwright-core");
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
  });
}

/** axe-core's source, to inject into a page. */
export async function axeSource(): Promise<string> {
  const { readFile } = await import("node:fs/promises");
  const { createRequire } = await import("node:module");
  return readFile(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
}

export interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: unknown[] }>;
}
