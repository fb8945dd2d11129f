import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, unlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { isSluiceError } from "../../contracts/errors.ts";
import { NVIDIA_SMI_ARGS, NvidiaSmiMonitor, parseNvidiaSmiCsv } from "./nvidia-smi-monitor.ts";

describe("parseNvidiaSmiCsv", () => {
  it("reads the rows nvidia-smi prints with noheader,nounits", () => {
    const { gpus, warnings } = parseNvidiaSmiCsv(
      "0, NVIDIA H200, 143771, 1024, 3\n1, NVIDIA H200, 143771, 130000, 97\n",
    );
    assert.deepEqual(gpus, [
      { index: 0, name: "NVIDIA H200", memoryTotalMiB: 143771, memoryUsedMiB: 1024, utilizationPercent: 3 },
      { index: 1, name: "NVIDIA H200", memoryTotalMiB: 143771, memoryUsedMiB: 130000, utilizationPercent: 97 },
    ]);
    assert.deepEqual(warnings, []);
  });

  it("takes CRLF line ends and blank lines, and empty output as no GPUs", () => {
    assert.equal(parseNvidiaSmiCsv("0, Tesla T4, 15360, 0, 0\r\n\r\n").gpus.length, 1);
    assert.deepEqual(parseNvidiaSmiCsv(""), { gpus: [], warnings: [] });
  });

  it("turns an [N/A] or [Not Supported] utilization into null (MIG slices, consumer boards)", () => {
    const { gpus } = parseNvidiaSmiCsv(
      "0, NVIDIA A100-SXM4-80GB, 81920, 4096, [N/A]\n1, NVIDIA GeForce GTX 1650, 4096, 300, [Not Supported]\n",
    );
    assert.deepEqual(
      gpus.map((g) => g.utilizationPercent),
      [null, null],
    );
    assert.equal(gpus[0]?.memoryUsedMiB, 4096);
  });

  it("leaves out a GPU without memory figures, with a warning naming it", () => {
    const { gpus, warnings } = parseNvidiaSmiCsv("0, NVIDIA GB10, [N/A], [N/A], 0\n1, NVIDIA L4, 23034, 1, 0\n");
    assert.deepEqual(
      gpus.map((g) => g.index),
      [1],
    );
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? "", /GPU 0 \(NVIDIA GB10\) reports no memory figures/);
  });

  it("keeps a name that contains a comma whole", () => {
    assert.equal(parseNvidiaSmiCsv("0, Acme, Inc. Accelerator, 1000, 10, 5").gpus[0]?.name, "Acme, Inc. Accelerator");
  });

  it("throws INTERNAL on output that is not the queried columns", () => {
    for (const text of [
      "No devices were found",
      "0, NVIDIA H200, 143771 MiB, 1024 MiB, 3 %",
      "GPU-0, NVIDIA H200, 1, 1, 1",
    ]) {
      assert.throws(
        () => parseNvidiaSmiCsv(text),
        (err: unknown) => isSluiceError(err) && err.code === "INTERNAL" && /line 1/.test(err.message),
        text,
      );
    }
  });
});

describe("NvidiaSmiMonitor", () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "sluice-nvidia-smi-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function script(name: string, body: string): Promise<string> {
    const file = path.join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}\n`);
    await chmod(file, 0o755);
    return file;
  }

  it("runs the binary with the query and reads its GPUs, plus host memory from os", async () => {
    const argsFile = path.join(dir, "args.txt");
    const command = await script(
      "ok.sh",
      `printf '%s\\n' "$@" > '${argsFile}'\necho "0, NVIDIA H200, 143771, 1024, 3"`,
    );
    const warnings: string[] = [];
    const snapshot = await new NvidiaSmiMonitor({
      command,
      now: () => 1234,
      onWarning: (m) => warnings.push(m),
    }).sample();
    assert.deepEqual(snapshot.gpus, [
      { index: 0, name: "NVIDIA H200", memoryTotalMiB: 143771, memoryUsedMiB: 1024, utilizationPercent: 3 },
    ]);
    assert.equal(snapshot.sampledAt, 1234);
    assert.equal(snapshot.host.totalBytes, os.totalmem());
    assert.ok(snapshot.host.freeBytes > 0 && snapshot.host.freeBytes <= snapshot.host.totalBytes);
    assert.deepEqual((await readFile(argsFile, "utf8")).trim().split("\n"), [...NVIDIA_SMI_ARGS]);
    assert.deepEqual(warnings, []);
  });

  it("answers no GPUs and no warning when the binary does not exist (a CPU-only host)", async () => {
    const warnings: string[] = [];
    const snapshot = await new NvidiaSmiMonitor({
      command: path.join(dir, "missing-nvidia-smi"),
      onWarning: (m) => warnings.push(m),
    }).sample();
    assert.deepEqual(snapshot.gpus, []);
    assert.deepEqual(warnings, []);
  });

  it("answers no GPUs and warns with the exit code and what the tool said when it fails", async () => {
    const command = await script(
      "exit9.sh",
      `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."\nexit 9`,
    );
    const warnings: string[] = [];
    const snapshot = await new NvidiaSmiMonitor({ command, onWarning: (m) => warnings.push(m) }).sample();
    assert.deepEqual(snapshot.gpus, []);
    assert.equal(warnings.length, 1);
    assert.match(
      warnings[0] ?? "",
      /exited with code 9: NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver\.; treating this host as having no GPU/,
    );
  });

  it("answers no GPUs and warns when the output cannot be parsed", async () => {
    const command = await script("garbage.sh", `echo "Failed to initialize NVML: Driver/library version mismatch"`);
    const warnings: string[] = [];
    assert.deepEqual((await new NvidiaSmiMonitor({ command, onWarning: (m) => warnings.push(m) }).sample()).gpus, []);
    assert.match(warnings[0] ?? "", /unparsable nvidia-smi output on line 1 .*Driver\/library version mismatch/);
  });

  it("answers no GPUs and warns when the tool hangs past the timeout", async () => {
    const command = await script("hang.sh", "exec sleep 30");
    const warnings: string[] = [];
    assert.deepEqual(
      (await new NvidiaSmiMonitor({ command, timeoutMs: 50, onWarning: (m) => warnings.push(m) }).sample()).gpus,
      [],
    );
    assert.match(warnings[0] ?? "", /did not answer within 50 ms/);
  });

  it("tells a repeating warning once, and again after a clean sample", async () => {
    const failFlag = path.join(dir, "fail-flag");
    const command = await script(
      "flaky.sh",
      `if [ -f '${failFlag}' ]; then echo "driver gone"; exit 9; fi\necho "0, Tesla T4, 15360, 10, 0"`,
    );
    const warnings: string[] = [];
    const monitor = new NvidiaSmiMonitor({ command, onWarning: (m) => warnings.push(m) });
    await writeFile(failFlag, "");
    await monitor.sample();
    await monitor.sample();
    assert.equal(warnings.length, 1);
    await unlink(failFlag);
    assert.equal((await monitor.sample()).gpus.length, 1);
    await writeFile(failFlag, "");
    await monitor.sample();
    assert.equal(warnings.length, 2);
  });

  it("still samples when the warning callback throws", async () => {
    const command = await script("exit9-again.sh", "exit 9");
    const monitor = new NvidiaSmiMonitor({
      command,
      onWarning: () => {
        throw new Error("logger down");
      },
    });
    assert.deepEqual((await monitor.sample()).gpus, []);
  });
});
