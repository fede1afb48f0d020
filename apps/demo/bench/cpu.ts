/**
 * CPU readings for the demo benchmarks (Linux /proc; NaN elsewhere): seconds of CPU a process, this
 * process and the whole machine have used, so a benchmark can say which party spent what and how busy
 * the shared machine was meanwhile.
 */
import { readFileSync } from "node:fs";

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
