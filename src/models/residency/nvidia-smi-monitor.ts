import { execFile } from "node:child_process";
import os from "node:os";
import { promisify } from "node:util";
import { SluiceError } from "../../contracts/errors.ts";
import type { DeviceMonitor, DeviceSnapshot, GpuInfo } from "./device-monitor.ts";

const execFileAsync = promisify(execFile);

/** What execFile rejects with: `code` is the errno name when it could not start, the exit code when it ran. */
interface ExecFailure extends Error {
  code?: string | number;
  killed?: boolean;
  signal?: string | null;
  stdout?: string;
  stderr?: string;
}

/**
 * The query the monitor runs; the parser expects exactly these columns in this order.
 *
 * @example
 * execFile("nvidia-smi", [...NVIDIA_SMI_ARGS]); // prints "0, NVIDIA H200, 143771, 1024, 3"
 */
export const NVIDIA_SMI_ARGS = [
  "--query-gpu=index,name,memory.total,memory.used,utilization.gpu",
  "--format=csv,noheader,nounits",
] as const;

/**
 * What `parseNvidiaSmiCsv` makes of one run: the usable GPUs, and one warning per GPU it had to
 * leave out.
 *
 * @example
 * const { gpus, warnings }: NvidiaSmiParseResult = parseNvidiaSmiCsv(stdout);
 */
export interface NvidiaSmiParseResult {
  gpus: GpuInfo[];
  warnings: string[];
}

/**
 * Parses the output of `nvidia-smi` run with `NVIDIA_SMI_ARGS`, e.g. `0, NVIDIA H200, 143771, 1024, 3`.
 * Bracketed values (`[N/A]`, `[Not Supported]`) mean "not reported": a missing utilization becomes
 * `null`, but a GPU without memory figures is left out with a warning, since the policy could not
 * judge its memory pressure (unified-memory boards such as GB10 report them so). Blank lines are
 * ignored. A line that is not five fields of the expected kinds throws `SluiceError("INTERNAL")`,
 * because then the columns are not what we asked for and no figure on any line can be trusted.
 *
 * @example
 * parseNvidiaSmiCsv("0, NVIDIA H200, 143771, 1024, 3\n").gpus[0]?.memoryTotalMiB; // 143771
 */
export function parseNvidiaSmiCsv(stdout: string): NvidiaSmiParseResult {
  const gpus: GpuInfo[] = [];
  const warnings: string[] = [];
  for (const [n, raw] of stdout.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (line === "") continue;
    const fields = line.split(",").map((f) => f.trim());
    if (fields.length < 5) throw unparsable(n, line, `expected 5 fields, got ${fields.length}`);
    // Only the name is free text; should a driver ever put a comma in it, the numbers still sit at the ends.
    const [indexField, ...rest] = fields as [string, ...string[]];
    const [utilField, usedField, totalField] = [rest.pop() as string, rest.pop() as string, rest.pop() as string];
    const name = rest.join(", ");
    const index = Number(indexField);
    if (indexField === "" || !Number.isInteger(index) || index < 0)
      throw unparsable(n, line, `index "${indexField}" is not a GPU index`);
    const total = readNumber(totalField);
    const used = readNumber(usedField);
    const utilization = readNumber(utilField);
    if (total === "invalid" || used === "invalid" || utilization === "invalid")
      throw unparsable(n, line, "a figure is not a number");
    if (total === null || used === null || total <= 0) {
      warnings.push(
        `GPU ${index} (${name}) reports no memory figures (total ${totalField}, used ${usedField}); it is left out of placement`,
      );
      continue;
    }
    gpus.push({ index, name, memoryTotalMiB: total, memoryUsedMiB: used, utilizationPercent: utilization });
  }
  return { gpus, warnings };
}

/** A figure, `null` for the driver's bracketed "not reported" values, or "invalid". */
function readNumber(field: string): number | null | "invalid" {
  if (/^\[.*\]$/.test(field)) return null;
  const value = Number(field);
  return field !== "" && Number.isFinite(value) && value >= 0 ? value : "invalid";
}

function unparsable(lineIndex: number, line: string, why: string): SluiceError {
  return new SluiceError("INTERNAL", `unparsable nvidia-smi output on line ${lineIndex + 1} (${why}): "${line}"`, {
    details: { line },
  });
}

/**
 * Options of `NvidiaSmiMonitor`.
 *
 * @example
 * const options: NvidiaSmiMonitorOptions = { command: "/opt/nvidia/bin/nvidia-smi", onWarning: (m) => log.warn(m) };
 */
export interface NvidiaSmiMonitorOptions {
  /** Binary to run. Default `nvidia-smi` from PATH; tests point it at a script. */
  command?: string;
  /** Kill the run after this long. Default 2000 ms: a hung driver must not stall the poll loop. */
  timeoutMs?: number;
  /** Told why GPUs could not be read. A warning that repeats on every poll is told once, until a clean sample. */
  onWarning?: (message: string) => void;
  /** Clock for `sampledAt`. Default `Date.now`. */
  now?: () => number;
}

/**
 * Samples NVIDIA GPUs through `nvidia-smi` and host memory through `os`. A missing binary means
 * a host without GPUs: no GPUs, no warning. A run that fails, times out or prints something
 * unparsable also yields no GPUs, plus a warning, so `gpu-required` calls fail fast instead of
 * the server crashing. `sample()` never rejects.
 *
 * Host memory is `os.totalmem()`/`os.freemem()` (MemAvailable on Linux); inside a container with
 * a memory limit these describe the host, not the limit.
 *
 * @example
 * const monitor = new NvidiaSmiMonitor({ onWarning: (m) => log.warn(m) });
 * const snapshot = await monitor.sample(); // { gpus: [], host: {...}, sampledAt } on a CPU-only host
 */
export class NvidiaSmiMonitor implements DeviceMonitor {
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly onWarning: (message: string) => void;
  private readonly now: () => number;
  /** Warnings of the previous sample, so a broken driver is not reported every few seconds. */
  private lastWarnings = new Set<string>();

  constructor(options: NvidiaSmiMonitorOptions = {}) {
    this.command = options.command ?? "nvidia-smi";
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.onWarning = options.onWarning ?? (() => {});
    this.now = options.now ?? Date.now;
  }

  async sample(): Promise<DeviceSnapshot> {
    const { gpus, warnings } = await this.readGpus();
    for (const message of warnings) {
      if (this.lastWarnings.has(message)) continue;
      try {
        this.onWarning(message);
      } catch {
        // A throwing logger must not turn a sample into a failure.
      }
    }
    this.lastWarnings = new Set(warnings);
    return { gpus, host: { totalBytes: os.totalmem(), freeBytes: os.freemem() }, sampledAt: this.now() };
  }

  private async readGpus(): Promise<NvidiaSmiParseResult> {
    let stdout: string;
    try {
      ({ stdout } = await execFileAsync(this.command, [...NVIDIA_SMI_ARGS], {
        timeout: this.timeoutMs,
        encoding: "utf8",
        windowsHide: true,
      }));
    } catch (err) {
      const failure = err as ExecFailure;
      if (failure.code === "ENOENT") return { gpus: [], warnings: [] };
      return { gpus: [], warnings: [`${this.describeFailure(failure)}; treating this host as having no GPU`] };
    }
    try {
      return parseNvidiaSmiCsv(stdout);
    } catch (err) {
      return { gpus: [], warnings: [`${(err as Error).message}; treating this host as having no GPU`] };
    }
  }

  private describeFailure(failure: ExecFailure): string {
    if (failure.killed === true) return `${this.command} did not answer within ${this.timeoutMs} ms`;
    // nvidia-smi prints its own diagnosis ("couldn't communicate with the NVIDIA driver") on stdout.
    const said = `${failure.stderr ?? ""}\n${failure.stdout ?? ""}`
      .split("\n")
      .map((l) => l.trim())
      .find((l) => l !== "");
    const how =
      typeof failure.code === "number"
        ? `exited with code ${failure.code}`
        : failure.signal
          ? `was killed by ${failure.signal}`
          : `failed (${failure.code ?? failure.message})`;
    return `${this.command} ${how}${said === undefined ? "" : `: ${said}`}`;
  }
}
