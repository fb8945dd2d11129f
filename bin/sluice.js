#!/usr/bin/env node
// Entry point for `npx sluice`: runs the TypeScript CLI through tsx's loader so that the
// package ships its sources as they are (no build step to forget).
import { register } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { dirname, join } from "node:path";

register("tsx/esm", pathToFileURL("./"));
const here = dirname(fileURLToPath(import.meta.url));
await import(pathToFileURL(join(here, "..", "src", "cli", "main.ts")).href);
