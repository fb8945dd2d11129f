#!/usr/bin/env node
// Entry point for `npx sluice`: runs the TypeScript CLI through tsx's loader, so the package
// ships its sources as they are and there is no build step to forget.
import { register } from "tsx/esm/api";

register();
await import("../src/cli/main.ts");
