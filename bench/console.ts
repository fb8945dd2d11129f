/**
 * The web console in Chromium (playwright-core, Debian's /usr/bin/chromium or env
 * SLUICE_CHROMIUM), served by the API in this process over a data folder holding `--jobs` small
 * jobs and one job of `--docs` documents (not run: its documents stay PENDING; built once into
 * bench/.cache/console-<docs>/). Measures, `--runs` times each (median printed, every run in the
 * JSON):
 * - initial load: the compressed JavaScript the page loads (brotli and gzip, as served);
 * - jobs page: from the end of the `/v1/jobs` response to the frame its rows are drawn in, and
 *   from navigation to that frame;
 * - the big job's page: from the end of its last documents page to the frame that shows every
 *   document, and from navigation to it;
 * - scrolling that job's table: frame intervals while it jumps 60 times down the list (p50/p95).
 * Targets (issue 15): both pages under 1 s after the data arrives, JavaScript under 300 kB
 * compressed. Human lines first, one JSON line last.
 *
 *   npm run bench:console [-- --docs 100000 --jobs 200 --runs 3]
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { brotliCompressSync, gzipSync } from "node:zlib";
import { buildApp } from "../src/api/app.ts";
import { parseConfig } from "../src/config/load-config.ts";
import { Sluice } from "../src/engine/sluice.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import { launchChromium } from "../tests/helpers/browser.ts";
import { percentile } from "./serve-helpers.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const { values } = parseArgs({
  options: {
    docs: { type: "string", default: "100000" },
    jobs: { type: "string", default: "200" },
    runs: { type: "string", default: "3" },
  },
});
const nDocs = Number(values.docs);
const nJobs = Number(values.jobs);
const runs = Number(values.runs);
const log = (line: string) => process.stderr.write(`${line}\n`);
const median = (xs: number[]) =>
  percentile(
    [...xs].sort((a, b) => a - b),
    50,
  );
const round = (x: number) => Math.round(x * 10) / 10;

// The data, once: `nJobs - 1` jobs of 3 documents and one of `nDocs`.
const home = join(ROOT, "bench", ".cache", `console-${nDocs}-${nJobs}`);
const dataDir = join(home, "data");
const config = parseConfig({
  embedder: { backend: "hash", dimensions: 64 },
  api: { rateLimits: { answer: false, query: false } },
});
const open = () => Sluice.open({ dataDir, cwd: home, config, embedder: new HashEmbedder({ dimensions: 64 }) });
if (!existsSync(join(home, "ready.json"))) {
  rmSync(home, { recursive: true, force: true });
  mkdirSync(home, { recursive: true });
  const sluice = await open();
  const started = performance.now();
  for (let j = 0; j < nJobs - 1; j++)
    await sluice.submitDocuments({
      collection: `c${j % 10}`,
      documents: Array.from({ length: 3 }, (_, i) => ({ id: `j${j}-d${i}`, text: `job ${j} document ${i}` })),
    });
  log(`${nJobs - 1} small jobs recorded; recording one of ${nDocs} documents …`);
  const big = await sluice.submitDocuments({
    collection: "big",
    documents: Array.from({ length: nDocs }, (_, i) => ({
      id: `doc-${String(i).padStart(6, "0")}`,
      text: `document ${i}`,
    })),
  });
  log(`recorded in ${Math.round((performance.now() - started) / 1000)} s`);
  await sluice.close();
  writeFileSync(join(home, "ready.json"), JSON.stringify({ bigJob: big.id }));
}
const { bigJob } = JSON.parse(readFileSync(join(home, "ready.json"), "utf8")) as { bigJob: string };

const sluice = await open();
const app = await buildApp(sluice, { auth: {} });
const base = await app.listen({ port: 0, host: "127.0.0.1" });
const browser = await launchChromium();

try {
  // Initial load: every script the page loads, as the server sends it compressed.
  const html = await (await fetch(`${base}/`)).text();
  const scripts = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+\.js)"/g)].map((m) => m[1]!);
  let raw = 0;
  let br = 0;
  let gzip = 0;
  for (const path of new Set(scripts)) {
    const body = Buffer.from(
      await (await fetch(`${base}${path}`, { headers: { "accept-encoding": "identity" } })).arrayBuffer(),
    );
    raw += body.length;
    br += brotliCompressSync(body).length;
    gzip += gzipSync(body, { level: 9 }).length;
  }
  log(
    `initial load: ${scripts.length} script(s), ${(raw / 1024).toFixed(1)} kB, ${(gzip / 1024).toFixed(1)} kB gzip, ${(br / 1024).toFixed(1)} kB brotli`,
  );

  /** In the page: waits (frame by frame) for `ready`, then reports when, and when `resource` finished arriving. */
  const measure = (ready: string, resource: string) => `new Promise((resolve, reject) => {
    const limit = performance.now() + 120000;
    const tick = () => {
      if (${ready}) {
        const drawn = performance.now();
        const entries = performance.getEntriesByType("resource").filter((e) => ${resource});
        const arrived = Math.max(...entries.map((e) => e.responseEnd));
        resolve({ drawn, arrived, requests: entries.length });
      } else if (performance.now() > limit) reject(new Error("not drawn in 120 s"));
      else requestAnimationFrame(tick);
    };
    tick();
  })`;
  type Timing = { drawn: number; arrived: number; requests: number };

  const jobsRuns: Array<{ after_data_ms: number; from_navigation_ms: number }> = [];
  const jobRuns: Array<{ after_data_ms: number; from_navigation_ms: number; requests: number }> = [];
  const scrollRuns: Array<{ p50_ms: number; p95_ms: number; frames: number }> = [];
  for (let r = 0; r < runs; r++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));

    await page.goto(`${base}/#/jobs`, { waitUntil: "domcontentloaded" });
    const jobs = await page.evaluate<Timing>(
      measure(`document.querySelectorAll("tr[data-job]").length === ${nJobs}`, `e.name.includes("/v1/jobs?")`),
    );
    jobsRuns.push({ after_data_ms: round(jobs.drawn - jobs.arrived), from_navigation_ms: round(jobs.drawn) });

    await page.goto(`${base}/#/jobs/${bigJob}`, { waitUntil: "domcontentloaded" });
    await page.reload({ waitUntil: "domcontentloaded" });
    const total = nDocs.toLocaleString("en-US");
    const job = await page.evaluate<Timing>(
      measure(
        `(document.getElementById("docs-title")?.textContent ?? "").includes("${total} of ${total}") && !(document.getElementById("docs-title")?.textContent ?? "").includes("loading") && document.querySelectorAll(".vrow").length > 0`,
        `e.name.includes("/v1/jobs/${bigJob}?")`,
      ),
    );
    jobRuns.push({
      after_data_ms: round(job.drawn - job.arrived),
      from_navigation_ms: round(job.drawn),
      requests: job.requests,
    });

    const frames = await page.evaluate<number[]>(`new Promise((resolve) => {
      const list = document.querySelector(".virtual");
      const gaps = [];
      let last = performance.now();
      let step = 0;
      const next = () => {
        const now = performance.now();
        gaps.push(now - last);
        last = now;
        if (step++ === 60) return resolve(gaps.slice(1));
        list.scrollTop = (list.scrollHeight * step) / 61;
        requestAnimationFrame(next);
      };
      requestAnimationFrame(next);
    })`);
    const sorted = [...frames].sort((a, b) => a - b);
    scrollRuns.push({
      p50_ms: round(percentile(sorted, 50)),
      p95_ms: round(percentile(sorted, 95)),
      frames: frames.length,
    });
    if (errors.length > 0) throw new Error(`page errors: ${errors.join("; ")}`);
    log(
      `run ${r + 1}: jobs page ${jobsRuns.at(-1)!.after_data_ms} ms after its data (${jobsRuns.at(-1)!.from_navigation_ms} ms from navigation); ` +
        `${total}-document job ${jobRuns.at(-1)!.after_data_ms} ms after its last page (${jobRuns.at(-1)!.from_navigation_ms} ms from navigation, ${job.requests} requests); ` +
        `scroll frames p50 ${scrollRuns.at(-1)!.p50_ms} / p95 ${scrollRuns.at(-1)!.p95_ms} ms`,
    );
    await context.close();
  }

  const jobsAfter = median(jobsRuns.map((x) => x.after_data_ms));
  const jobAfter = median(jobRuns.map((x) => x.after_data_ms));
  const summary = {
    bench: "console",
    chromium: browser.version(),
    data: { jobs: nJobs, bigJobDocuments: nDocs },
    javascript: { files: scripts.length, bytes: raw, gzip_bytes: gzip, brotli_bytes: br },
    jobsPage: {
      median_after_data_ms: jobsAfter,
      median_from_navigation_ms: median(jobsRuns.map((x) => x.from_navigation_ms)),
      runs: jobsRuns,
    },
    bigJobPage: {
      median_after_data_ms: jobAfter,
      median_from_navigation_ms: median(jobRuns.map((x) => x.from_navigation_ms)),
      runs: jobRuns,
    },
    scroll: { median_p95_frame_ms: median(scrollRuns.map((x) => x.p95_ms)), runs: scrollRuns },
    targets: {
      jobsPageUnder1s: jobsAfter < 1000,
      bigJobPageUnder1s: jobAfter < 1000,
      javascriptUnder300kB: gzip < 300 * 1024,
    },
  };
  log(
    `\njobs page: ${jobsAfter} ms after its data; ${nDocs}-document job page: ${jobAfter} ms after its last page; JavaScript ${(gzip / 1024).toFixed(1)} kB gzip`,
  );
  console.log(JSON.stringify(summary));
} finally {
  await browser.close();
  await app.close();
  await sluice.close();
}
