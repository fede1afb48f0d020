/** Child processes of the demo network: started with Node 24, output captured, always killable. */
import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import { createRequester } from "@relink/protocol/http";

/**
 * How long a process may take to become ready (a hub migrating its database, key holders running their
 * DKG, a lender registering its book) on a loaded machine: RELINK_START_TIMEOUT_MS, default 10 minutes.
 * No start-up wait in the demo or its tests is fixed: each uses this.
 */
export function startTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return envMs(env, "RELINK_START_TIMEOUT_MS", 600_000);
}

/**
 * How long the demo hub's exposure round waits for lenders in per-subject mode. The protocol default (5 s)
 * suits a production hub; lenders on a busy 2-core demo machine can take longer to encrypt, and a lender
 * missing the deadline is (correctly) dropped from the answer — so the demo waits longer by default.
 */
export function demoExposureDeadlineMs(env: NodeJS.ProcessEnv = process.env): number {
  return envMs(env, "RELINK_EXPOSURE_DEADLINE_MS", 30_000);
}

function envMs(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const v = env[name];
  if (v === undefined || v === "") return fallback;
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new Error(`${name}: expected milliseconds ≥ 1, got '${v}'`);
  return Number(v);
}

// Readiness polls ask once per attempt: the poll loop is the retry.
const probe = createRequester({ retry: { retries: 0 } });

/**
 * Polls `url` (a /healthz endpoint) until it answers 200 and `accept` approves its JSON, failing early if
 * `proc` exits, and at the latest after `timeoutMs` (default startTimeoutMs()).
 */
export async function waitForHealthy(
  url: string,
  proc: Proc,
  accept: (json: unknown) => boolean = () => true,
  timeoutMs = startTimeoutMs(),
): Promise<unknown> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  for (;;) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(
        `${proc.name} exited (${proc.child.exitCode ?? proc.child.signalCode}) before ${url} was ready\n${proc.output().slice(-2000)}`,
      );
    }
    try {
      const res = await probe(url, {
        signal: AbortSignal.timeout(Math.max(1, Math.min(10_000, deadline - Date.now()))),
      });
      const json: unknown = await res.json();
      if (res.ok && accept(json)) return json;
      last = `HTTP ${res.status} ${JSON.stringify(json).slice(0, 200)}`;
    } catch (error) {
      last = String((error as Error).cause ?? error);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${proc.name}: not ready at ${url} after ${timeoutMs} ms (RELINK_START_TIMEOUT_MS); last: ${last}\n${proc.output().slice(-2000)}`,
      );
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export interface Proc {
  name: string;
  child: ChildProcess;
  /** Everything the process wrote (stdout and stderr), for diagnostics and the privacy scan. */
  output(): string;
  /** Resolves with the first regex match on the output (timeout: startTimeoutMs()). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export function startProcess(
  name: string,
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Proc {
  // RELINK_CPU_PROF_DIR: every long-running process writes a V8 CPU profile there when it exits
  // (`--cpu-prof` is not allowed in NODE_OPTIONS); for finding where a benchmark's time goes.
  const profDir = process.env.RELINK_CPU_PROF_DIR;
  const flags = profDir
    ? ["--cpu-prof", `--cpu-prof-dir=${profDir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  const child = spawn(process.execPath, [...flags, script, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  const waiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of waiters) w();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  return {
    name,
    child,
    output: () => out,
    waitFor(pattern, timeoutMs = startTimeoutMs()) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const m = pattern.exec(out);
          if (m) {
            cleanup();
            resolve(m);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `${name}: timed out after ${timeoutMs} ms (RELINK_START_TIMEOUT_MS) waiting for ${pattern}\n${out.slice(-2000)}`,
            ),
          );
        }, timeoutMs);
        const onExit = (code: number | null) => {
          cleanup();
          reject(new Error(`${name} exited with ${code} before ${pattern}\n${out.slice(-2000)}`));
        };
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off("exit", onExit);
        };
        waiters.add(check);
        child.once("exit", onExit);
        check();
      });
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      return exited;
    },
  };
}

/** Runs a command to completion; resolves with exit code and output. */
export function runProcess(
  script: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      env: { ...process.env, ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.once("error", reject);
    child.once("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** A free TCP port on 127.0.0.1 (bound then released). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}
