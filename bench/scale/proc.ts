import { readFileSync } from "node:fs";

/** Peak resident memory of one process, as far as sampling saw it. */
export interface PeakMemory {
  /** Kernel's high-water mark of resident memory (VmHWM), in bytes: the true peak. */
  hwmBytes: number;
  /** Largest current resident memory (VmRSS) seen by a sample, in bytes. */
  rssBytes: number;
}

/** VmHWM and VmRSS of a live process, in bytes; null once it is gone. */
export function readMemory(pid: number): PeakMemory | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return null;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? 0) * 1024;
  return { hwmBytes: kb("VmHWM"), rssBytes: kb("VmRSS") };
}

/** Seconds of CPU (user + system) a live process has used; null once it is gone. */
export function readCpuSeconds(pid: number): number | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // Fields after the command name (which may hold spaces) in parentheses; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/**
 * Samples the memory of named processes every `intervalMs` until stopped, keeping each one's
 * peak; `sample()` can also be called by hand (e.g. just before a process is told to stop, since
 * VmHWM cannot be read after it exits).
 *
 * @example
 * const sampler = new MemorySampler(250);
 * sampler.watch("worker-1", worker.pid!);
 * …
 * sampler.stop(); sampler.peak("worker-1"); // { hwmBytes, rssBytes }
 */
export class MemorySampler {
  readonly #pids = new Map<string, number>();
  readonly #peaks = new Map<string, PeakMemory>();
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs = 250) {
    this.#timer = setInterval(() => this.sample(), intervalMs);
    this.#timer.unref();
  }

  watch(name: string, pid: number): void {
    this.#pids.set(name, pid);
    this.sample();
  }

  sample(): void {
    for (const [name, pid] of this.#pids) {
      const now = readMemory(pid);
      if (!now) continue;
      const peak = this.#peaks.get(name) ?? { hwmBytes: 0, rssBytes: 0 };
      this.#peaks.set(name, {
        hwmBytes: Math.max(peak.hwmBytes, now.hwmBytes),
        rssBytes: Math.max(peak.rssBytes, now.rssBytes),
      });
    }
  }

  /** The peak seen so far (VmHWM where it was readable, never below the largest VmRSS sampled). */
  peak(name: string): PeakMemory {
    const p = this.#peaks.get(name) ?? { hwmBytes: 0, rssBytes: 0 };
    return { hwmBytes: Math.max(p.hwmBytes, p.rssBytes), rssBytes: p.rssBytes };
  }

  stop(): void {
    this.sample();
    clearInterval(this.#timer);
  }
}

/** Busy and total CPU time of the whole machine so far (all cores, from /proc/stat), in clock ticks. */
export function machineCpu(): { busy: number; total: number } {
  const [, ...ticks] = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/);
  const n = ticks.map(Number);
  const total = n.reduce((a, b) => a + b, 0);
  // idle + iowait are not busy.
  return { busy: total - (n[3] ?? 0) - (n[4] ?? 0), total };
}
