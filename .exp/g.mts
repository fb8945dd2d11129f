import { expandPaths } from "../src/stages/sources/expand-paths.ts";
const out = [];
for await (const r of expandPaths([process.cwd() + "/src/stages/parse/formats/*.ts", "../../shared/fixtures/pdf/R-FAQ.pdf", "../.exp/README.md"], { cwd: process.cwd() + "/src", maxDocumentBytes: 1e6 })) out.push([r.id, r.source]);
console.log(out);
