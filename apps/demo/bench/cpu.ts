/**
 * CPU readings for the demo benchmarks (Linux /proc; NaN elsewhere): seconds of CPU a process, this
 * process and the whole machine have used, so a benchmark can say which party spent what and how busy
 * the shared machine was meanwhile.
 */
import { readdirSync, readFileSync } from "node:fs";

/** utime + stime of a process, in seconds (clock ticks, USER_HZ = 100). */
export function processCpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/** Busy time of all CPUs in seconds: user nice system irq softirq steal (jiffies, USER_HZ = 100). */
export function machineCpuSeconds(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) / 100;
  } catch {
    return Number.NaN;
  }
}

/** User + system CPU of this process, in seconds. */
export function selfCpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * CPU seconds of this process's threads by thread name (/proc/self/task/<tid>/comm; Node 24 names them MainThread,
 * WorkerThread, V8Worker, libuv-worker, …), for saying which thread of a party spent what.
 * Threads that exited between two readings drop out of the second one.
 */
export function threadCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync("/proc/self/task")) {
      try {
        const comm = readFileSync(`/proc/self/task/${tid}/comm`, "utf8").trim();
        const f = readFileSync(`/proc/self/task/${tid}/stat`, "utf8").split(") ")[1]!.split(" ");
        out.set(comm, (out.get(comm) ?? 0) + (Number(f[11]) + Number(f[12])) / 100);
      } catch {
        // the thread exited meanwhile
      }
    }
  } catch {
    // not Linux
  }
  return out;
}

/** Per-thread-name CPU seconds between two {@link threadCpuSeconds} readings. */
export function threadCpuDelta(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of b) out[k] = +(v - (a.get(k) ?? 0)).toFixed(2);
  return out;
}
