import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { after, before, describe, it } from "node:test";
import { parseConfig } from "../src/config/load-config.ts";
import { createAdapters } from "../src/engine/create-adapters.ts";
import { Sluice } from "../src/engine/sluice.ts";
import type { Job } from "../src/contracts/job.ts";
import { SHIPPED_PIPELINES } from "../src/engine/resolve-pipeline.ts";
import { startTestModelServer, type TestModelServer } from "../src/model-server/test-server.fixture.ts";
import { HashEmbedder } from "../src/models/backends/hash-embedder.ts";
import type { ModelPlane } from "../src/models/model-plane.ts";
import { runCli } from "./helpers/cli.ts";
import { eventually } from "./helpers/eventually.ts";
import { scannedPdf } from "../src/stages/parse/pdf.fixture.ts";
import { freePort } from "./helpers/redis-server.ts";

/**
 * Issue 11, the two-phase PDF gate end to end: scanned PDFs (image only, no text layer) are
 * downloaded from a local server and go through the shipped `pdf-two-phase` pipeline (rechecks cut
 * to 300 ms), with OCR on a model server (`models.mode: remote`, tesseract) that is down at first;
 * the embedder stays in the test's process (a hash embedder), as if OCR were a service of its own.
 * The documents wait, visibly and without spending attempts; once the server is up they complete.
 */

const SCANS: Record<string, string[]> = {
  "invoices.pdf": ["Invoices are archived for seven years.", "Scanned pages are read by OCR."],
  "boilers.pdf": ["Boiler pressure is checked every morning.", "The valve log stays in the plant room."],
};

describe("the two-phase PDF gate with the OCR service down for a while", () => {
  let dir: string;
  let files: Server;
  let base: string;
  let ocrServer: TestModelServer | undefined;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "sluice-two-phase-"));
    const pdfs = new Map<string, Uint8Array>();
    for (const [name, lines] of Object.entries(SCANS)) pdfs.set(`/${name}`, await scannedPdf(lines));
    files = createServer((req, res) => {
      const pdf = pdfs.get(req.url ?? "");
      if (!pdf) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/pdf" }).end(pdf);
    });
    await new Promise<void>((resolve) => files.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  });

  after(async () => {
    await ocrServer?.close();
    files.closeAllConnections();
    await new Promise((resolve) => files.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it("documents wait at ir with their reason, no lease held and no attempt spent, and complete when OCR is back", async () => {
    const shipped = readFileSync(join(SHIPPED_PIPELINES, "pdf-two-phase.yaml"), "utf8");
    const fast = shipped.replaceAll("recheckMs: 30000", "recheckMs: 300");
    assert.notEqual(fast, shipped);
    const pipeline = join(dir, "pdf-two-phase-fast.yaml");
    writeFileSync(pipeline, fast);

    const port = await freePort(); // nothing listens there yet: the OCR service is down
    const config = parseConfig({
      models: { mode: "remote", remote: { address: `127.0.0.1:${port}`, timeoutMs: 5000 } },
      ocr: { languages: "eng" },
      download: { allowedHosts: ["127.0.0.1"], perHostPerSecond: 100 },
    });
    // OCR is a service of its own (the remote plane); the embedder stays in this process.
    const adapters = await createAdapters(config, join(dir, "data"));
    const remote = adapters.models;
    const embedder = new HashEmbedder({ dimensions: 32 });
    const models: ModelPlane = {
      mode: remote.mode,
      open: () => remote.open(),
      close: () => remote.close(),
      embedder: () => embedder,
      sparseEncoder: () => remote.sparseEncoder(),
      reranker: () => remote.reranker(),
      ocr: () => remote.ocr(),
      status: () => remote.status(),
    };
    const sluice = await Sluice.open({
      dataDir: join(dir, "data"),
      cwd: dir,
      config,
      adapters: { ...adapters, models },
    });
    const stopRun = new AbortController();
    let run: Promise<unknown> = Promise.resolve();
    const suspended: string[] = [];
    const stop = sluice.events.subscribe((ce) => {
      if (ce.type === "io.sluice.gate.suspended") suspended.push(String(ce.subject));
    });
    try {
      const job = await sluice.submitDocuments({
        collection: "scans",
        pipeline,
        documents: Object.keys(SCANS).map((name) => ({ id: name, url: `${base}/${name}` })),
      });
      run = sluice.runJob(job.id, { signal: stopRun.signal });

      // Both wait, with the reason, at the gate; each was tried again at least twice meanwhile.
      // Each is tried again every 300 ms, so every look at them is one snapshot, taken whole.
      let waiting: Job | undefined;
      await eventually(
        async () => {
          const seen = await sluice.getJob(job.id, { documents: true, stages: true });
          if (suspended.length >= 6 && seen.waiting === 2) waiting = seen;
          return waiting !== undefined;
        },
        "both documents to wait at the gate through two rechecks",
        30_000,
        50,
      );
      assert.equal(waiting!.state, "PROCESSING");
      for (const d of waiting!.documents ?? []) {
        assert.equal(d.state, "WAITING");
        assert.equal(d.error, null);
        assert.equal(d.waiting?.stage, "ir");
        assert.match(
          d.waiting?.reason ?? "",
          /^OCR is unavailable \(.+\); 0 of 1 page\(s\) read, 1 to go; trying again at /,
        );
        const stages = new Map(d.stages?.map((s) => [s.stage, s.state]));
        assert.equal(stages.get("download"), "COMPLETED");
        assert.equal(stages.get("pdf_downloaded"), "REACHED");
        assert.equal(stages.get("ir"), "WAITING");
        assert.equal(stages.has("pdf_ir_ready"), false);
      }
      // `sluice jobs <id>` (another process, same data folder) says so too. Each document is tried
      // again every 300 ms, so one may be running at the moment the CLI reads: ask until one waits.
      let printed = "";
      await eventually(
        async () => {
          const cli = await runCli(["--data", join(dir, "data"), "jobs", job.id]);
          assert.equal(cli.code, 0, cli.stderr);
          printed = cli.stdout;
          return /  WAITING /.test(printed);
        },
        "`sluice jobs` to print a waiting document",
        30_000,
      );
      assert.match(printed, /PROCESSING .* 0\/2 done, 0 failed, [12] waiting/);
      assert.match(printed, /WAITING +http:\/\/127\.0\.0\.1:\d+\/\w+\.pdf {2}waiting at ir: OCR is unavailable \(/);
      // Counted in Prometheus, per stage.
      const text = await sluice.metrics.registry.metrics();
      const suspensions = Number(/^gate_suspensions_total\{stage="ir"\} (\d+)$/m.exec(text)?.[1] ?? 0);
      assert.ok(suspensions >= 6, `gate_suspensions_total{stage="ir"} = ${suspensions}`);
      // Not holding a lease: the spool has them as waiting, nothing leased.
      await eventually(
        async () => {
          const spool = await sluice.spoolStats();
          return spool.waiting === 2 && spool.leased === 0;
        },
        "the spool to hold both as waiting, neither leased",
        10_000,
        5,
      );

      await sleep(700); // a few more rechecks while down: still no attempt spent
      ocrServer = await startTestModelServer({ modelServer: { services: ["ocr"] } }, { listen: `127.0.0.1:${port}` });

      const done = (await run) as Job;
      assert.equal(done.state, "COMPLETED");
      assert.equal(done.done, 2);
      const finished = await sluice.getJob(job.id, { documents: true, stages: true });
      for (const d of finished.documents ?? []) {
        assert.equal(d.state, "COMPLETED");
        assert.equal(d.attempts, 1, `${d.docId}: waiting spent no attempt`);
        const stages = new Map(d.stages?.map((s) => [s.stage, s.state]));
        assert.equal(stages.get("ir"), "COMPLETED");
        assert.equal(stages.get("pdf_downloaded"), "REACHED");
        assert.equal(stages.get("pdf_ir_ready"), "REACHED");
      }
      const { results } = await sluice.query({
        collection: "scans",
        query: "boiler pressure morning",
        mode: "lexical",
        answer: false,
      });
      assert.equal(results[0]?.docId, "boilers.pdf");
      assert.match(results[0]?.text ?? "", /Boiler pressure is checked every morning/);
    } finally {
      stop();
      stopRun.abort(); // a failed assertion must not leave the worker draining under close()
      await run.catch(() => undefined);
      await sluice.close();
    }
  });
});
