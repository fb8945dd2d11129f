import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, Page } from "playwright-core";
import { parse, stringify } from "yaml";
import { openTestApp, type TestApp } from "../src/api/test-app.fixture.ts";
import { hsToken } from "./helpers/auth-server.ts";
import { type AxeViolation, axeSource, browserSkipReason, launchChromium } from "./helpers/browser.ts";

/** Screenshots of every page the tests visit: CI keeps them as artifacts. */
const SHOTS = process.env["SLUICE_TEST_ARTIFACTS"] ?? join(process.cwd(), "test-artifacts", "console");

const skip = browserSkipReason();
if (skip) process.stderr.write(`console browser tests skipped: ${skip}\n`);

/** The page's console errors and uncaught exceptions: a clean console has none. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e.message));
  return errors;
}

async function shot(page: Page, name: string): Promise<void> {
  await mkdir(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

/** axe-core on the page as it is: serious and critical violations only. */
async function seriousViolations(page: Page): Promise<AxeViolation[]> {
  await page.addScriptTag({ content: await axeSource() });
  // A string runs in the page (its DOM types are not this process's).
  const result = await page.evaluate<AxeViolation[]>("axe.run(document).then((r) => r.violations)");
  return result.filter((v) => v.impact === "serious" || v.impact === "critical");
}

void describe("web console in Chromium", { skip: skip ?? false }, () => {
  let browser: Browser;
  let t: TestApp;
  let base: string;
  let folder: string;

  before(async () => {
    browser = await launchChromium();
    t = await openTestApp({ runJobs: true });
    base = await t.app.listen({ port: 0, host: "127.0.0.1" });
    folder = await mkdtemp(join(tmpdir(), "sluice-console-upload-"));
    await writeFile(join(folder, "rivers.md"), "# Rivers\n\nRivers carry water from mountains to the sea.\n");
    await writeFile(join(folder, "lakes.txt"), "Lakes hold still water between hills.\n");
    await writeFile(join(folder, "glaciers.html"), "<h1>Glaciers</h1><p>Glaciers are rivers of ice.</p>");
    // Claims to be a PDF and is not: the parse stage fails it, with a reason to read.
    await writeFile(join(folder, "broken.pdf"), "this is not a PDF at all");
    await writeFile(join(folder, "notes.xyz"), "a file type Sluice does not take");
  });
  after(async () => {
    await browser?.close();
    await t?.close();
    if (folder) await rm(folder, { recursive: true, force: true });
  });

  void it("uploads a folder, follows the job live to COMPLETED, and shows why a document failed", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/`);
    await page.getByRole("heading", { name: "Jobs" }).waitFor();
    await page.getByText("No jobs yet").waitFor();
    await shot(page, "jobs-empty-1280");

    await page.getByLabel("Folder").setInputFiles(folder);
    await page.getByText(/Left out .*notes\.xyz/).waitFor();
    await page.getByRole("button", { name: "Ingest 4 files" }).click();

    // The job page opens and follows the job over /v1/events to its end.
    const title = page.getByRole("heading", { name: /^Job / });
    await title.waitFor();
    await title.getByText("COMPLETED").waitFor({ timeout: 60_000 });
    await page.locator('[data-count="done"]', { hasText: "3" }).waitFor();
    assert.equal(await page.locator('[data-count="failed"]').textContent(), "1");
    assert.equal(await page.locator('[data-count="total"]').textContent(), "4");
    await shot(page, "job-completed-1280");

    // Only the failed document, then its reason and stage timeline.
    await page.getByLabel("Document state").selectOption("FAILED");
    const row = page.locator(".vrow");
    assert.equal(await row.count(), 1);
    await row.first().click();
    const reason = page.locator("[data-reason]");
    await reason.waitFor();
    assert.match((await reason.textContent()) ?? "", /^[A-Z_]+: .+/);
    await page.getByRole("list", { name: "Stage timeline" }).waitFor();
    await shot(page, "job-failed-document-1280");
    await page.getByRole("button", { name: "Retry failed" }).waitFor();
    await page.getByText("Stages: counts and durations").click();
    assert.equal(
      await page.locator('[data-stage-summary] tr[data-stage="parse"] [data-col="failed"]').textContent(),
      "1",
    );
    await page.getByText("Pipeline snapshot").click();
    await page
      .locator("[data-job-pipeline]")
      .getByRole("img", { name: /^Pipeline auto:/ })
      .waitFor();
    await shot(page, "job-stages-pipeline-1280");

    // Back on the jobs page the job is listed with its counts.
    await page.getByRole("link", { name: "Jobs", exact: true }).click();
    const listed = page.locator("tr[data-state=COMPLETED]");
    await listed.waitFor();
    assert.equal(await listed.locator('[data-col="done"]').textContent(), "3");
    assert.equal(await listed.locator('[data-col="failed"]').textContent(), "1");
    await shot(page, "jobs-1280");

    const violations = await seriousViolations(page);
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.help}`),
      [],
    );
    assert.deepEqual(errors, []);
    await context.close();
  });

  void it("searches a collection with per-list scores, follows a citation to its chunk, and deletes a document", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${base}/#/collections`);
    await page.getByRole("link", { name: /^default/ }).click();
    await page.getByLabel("Query").fill("rivers water sea");
    await page.getByRole("button", { name: "Search" }).click();
    const first = page.locator("tr[data-result]").first();
    await first.waitFor();
    for (const list of ["lexical", "dense", "fused"]) await page.getByRole("columnheader", { name: list }).waitFor();
    assert.match((await first.locator('[data-score="fused"]').textContent()) ?? "", /^\d+\.\d{4}$/);
    const citation = page.locator("[data-answer] a[data-citation]").first();
    await citation.waitFor();
    await shot(page, "search-1280");
    await citation.click();
    const cited = page.locator("li.cited[data-chunk]");
    await cited.waitFor();
    assert.ok(((await cited.textContent()) ?? "").length > 0);
    await shot(page, "citation-chunk-1280");

    await page.getByLabel("Find by id, title or source").fill("lakes");
    await page.locator('tr[data-doc="lakes.txt"]').getByRole("link").click();
    await page.locator("li[data-chunk]", { hasText: "Lakes hold still water" }).waitFor();
    await page.getByRole("button", { name: "Delete" }).click();
    await page.locator('tr[data-doc="lakes.txt"]').waitFor({ state: "detached" });
    assert.equal(await t.sluice.store.documentHash("default", "lakes.txt"), null);
    const violations = await seriousViolations(page);
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.help}`),
      [],
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it("cancels a running job from the jobs page, and its work stops", async () => {
    // The shipped pipeline with its load stage held to 4 documents a second: the job runs for seconds.
    const topology = parse(await readFile(join(process.cwd(), "pipelines", "auto.yaml"), "utf8")) as {
      name: string;
      policies: Record<string, Record<string, unknown>>;
    };
    topology.name = "slow";
    topology.policies["io"] = { ...topology.policies["io"], rateLimit: { perSecond: 4, burst: 1 } };
    await writeFile(join(t.dir, "slow.yaml"), stringify(topology));
    await mkdir(join(t.dir, "many"));
    for (let i = 0; i < 60; i++) await writeFile(join(t.dir, "many", `n${i}.txt`), `note ${i} about tides`);
    const res = await fetch(`${base}/v1/jobs`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ collection: "tides", paths: ["many"], pipeline: "slow.yaml" }),
    });
    assert.equal(res.status, 202, await res.clone().text());
    const { jobId } = (await res.json()) as { jobId: string };

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${base}/#/jobs`);
    const running = page.locator(`tr[data-job="${jobId}"][data-state=PROCESSING]`);
    await running.waitFor();
    await shot(page, "jobs-running-1280");
    await running.getByRole("button", { name: `Cancel ${jobId}` }).click();
    await page.locator(`tr[data-job="${jobId}"][data-state=CANCELLED]`).waitFor();
    const cancelled = await t.sluice.getJob(jobId);
    assert.equal(cancelled.state, "CANCELLED");
    assert.ok(cancelled.done < 60, `${cancelled.done} of 60 done: cancel came before the end`);
    // Work really stopped: a second later no more documents were indexed.
    const indexed = (await t.sluice.stats("tides").catch(() => ({ documents: 0 }))).documents;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal((await t.sluice.stats("tides").catch(() => ({ documents: 0 }))).documents, indexed);
    await page.close();
  });

  void it("works at 390×844 without horizontal overflow of the page, and is usable from the keyboard", async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true });
    const page = await context.newPage();
    const errors = watchErrors(page);
    await page.goto(`${base}/#/jobs`);
    await page.locator("tr[data-job]").first().waitFor();
    const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - window.innerWidth");
    assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
    await shot(page, "jobs-390");
    // Tab from the top reaches the job link and Enter opens it.
    await page.keyboard.press("Tab");
    for (let i = 0; i < 40; i++) {
      const onJob = await page.evaluate('document.activeElement?.closest("tr[data-job]") != null');
      if (onJob) break;
      await page.keyboard.press("Tab");
    }
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: /^Job / }).waitFor();
    await shot(page, "job-390");
    const violations = await seriousViolations(page);
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.help}`),
      [],
    );
    assert.deepEqual(errors, []);
    await context.close();
  });
});

void describe("web console: cancel and resume, and a token when auth is on", { skip: skip ?? false }, () => {
  let browser: Browser;
  let t: TestApp;
  let base: string;
  const secret = "console-browser-test-secret-0123456789abcdef";

  before(async () => {
    browser = await launchChromium();
    // No worker in this server: a job stays PENDING until someone cancels it.
    t = await openTestApp({ auth: { jwtSecret: secret } });
    base = await t.app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  void it("asks for a token, then cancels a pending job and resumes it from the jobs page", async () => {
    const token = await hsToken(secret, { sub: "ann", scope: "ingest query" });
    const res = await fetch(`${base}/v1/collections/held/documents`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
      body: JSON.stringify({ documents: [{ id: "a", text: "held back" }] }),
    });
    assert.equal(res.status, 202);
    const { jobId } = (await res.json()) as { jobId: string };

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${base}/`);
    await page.getByRole("heading", { name: "Sign in" }).waitFor();
    await shot(page, "sign-in-1280");
    await page.getByLabel("Token").fill(token);
    await page.getByRole("button", { name: "Use token" }).click();

    const row = page.locator(`tr[data-job="${jobId}"]`);
    await row.waitFor();
    assert.equal(await row.getAttribute("data-state"), "PENDING");
    await row.getByRole("button", { name: `Cancel ${jobId}` }).click();
    await page.locator(`tr[data-job="${jobId}"][data-state=CANCELLED]`).waitFor();
    assert.equal((await t.sluice.getJob(jobId)).state, "CANCELLED");
    await shot(page, "jobs-cancelled-1280");
    await row.getByRole("button", { name: `Resume ${jobId}` }).click();
    await page.locator(`tr[data-job="${jobId}"][data-state=PENDING]`).waitFor();
    assert.equal((await t.sluice.getJob(jobId)).state, "PENDING");
    await page.close();
  });
});

void describe("web console: pipelines and the spool", { skip: skip ?? false }, () => {
  let browser: Browser;
  let t: TestApp;
  let base: string;

  before(async () => {
    browser = await launchChromium();
    // Every document is past its deadline at once: the job's documents end in the dead-letter lane.
    t = await openTestApp({}, { config: { spool: { documentDeadlineMs: 1 } } });
    base = await t.app.listen({ port: 0, host: "127.0.0.1" });
  });
  after(async () => {
    await browser?.close();
    await t?.close();
  });

  void it("draws each pipeline as a DAG and marks the node a broken YAML is wrong about", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors = watchErrors(page);
    await page.goto(`${base}/#/pipelines`);
    const dag = page.getByRole("img", { name: /^Pipeline auto: \d+ nodes/ });
    await dag.waitFor();
    assert.ok((await dag.locator("g[data-node]").count()) >= 5);
    assert.ok((await dag.locator(".dag-edge").count()) >= 4);
    await page.locator('g[data-node="parse"]', { hasText: "parse.auto" }).first().waitFor();
    await shot(page, "pipelines-1280");

    await page.getByRole("button", { name: "query", exact: true }).click();
    await page.getByRole("img", { name: /^Pipeline query:/ }).waitFor();

    await page
      .getByLabel("Pipeline YAML")
      .fill(
        "version: 1\nname: mine\ninputs: [load.ref]\nnodes:\n  - name: load\n    type: source.load\n  - name: parse\n    type: parse.nope\nconnections:\n  - sender: load.document\n    receiver: parse.document\n",
      );
    await page.getByRole("button", { name: "Check" }).click();
    await page.locator("[data-checked=invalid]").waitFor();
    await page.locator('[data-pipeline="mine"] g.dag-node-bad[data-node="parse"]').waitFor();
    assert.match((await page.locator('[data-error-node="parse"]').textContent()) ?? "", /parse\.nope/);
    await shot(page, "pipeline-check-1280");
    const violations = await seriousViolations(page);
    assert.deepEqual(
      violations.map((v) => `${v.id}: ${v.help}`),
      [],
    );
    assert.deepEqual(errors, []);
    await page.close();
  });

  void it("lists dead letters with their reasons; retry sends one back, drop removes one", async () => {
    const job = await t.sluice.submitDocuments({
      collection: "late",
      documents: [
        { id: "a", text: "first late document" },
        { id: "b", text: "second late document" },
      ],
    });
    await new Promise((r) => setTimeout(r, 10));
    await t.sluice.runJob(job.id);
    assert.equal((await t.sluice.deadLetters()).length, 2);

    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on("dialog", (d) => void d.accept());
    await page.goto(`${base}/#/spool`);
    const rowA = page.locator('tr[data-doc="a"]');
    await rowA.waitFor();
    assert.match((await rowA.textContent()) ?? "", /DEADLINE_EXCEEDED/);
    assert.equal(await page.locator('[data-count="dead"]').textContent(), "2");
    await shot(page, "spool-1280");

    await rowA.getByRole("button", { name: "Retry a" }).click();
    await page.getByRole("status").filter({ hasText: "a is back in the normal lane" }).waitFor();
    // The retried record waits in its lane again, and the lane shows how long its oldest has waited.
    await page.locator('[data-lane="normal"]', { hasText: /1 waiting, oldest \d+ s/ }).waitFor();
    await page.locator('tr[data-doc="b"]').getByRole("button", { name: "Drop b" }).click();
    await page.getByRole("status").filter({ hasText: "b dropped" }).waitFor();
    await page.getByText("None: every document").waitFor();
    assert.deepEqual(await t.sluice.deadLetters(), []);
    assert.equal((await t.sluice.spoolStats()).pending.normal, 1, "the retried letter waits in its lane again");
    await shot(page, "spool-after-1280");

    await page.getByRole("link", { name: "Models" }).click();
    const embed = page.locator('tr[data-service="embed"]');
    await embed.waitFor();
    assert.match((await embed.textContent()) ?? "", /IN_PROCESS/);
    await shot(page, "models-1280");
    await page.close();
  });
});
