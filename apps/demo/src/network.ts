/**
 * Boots a Relink network of real processes on this machine: one hub, n key holders (t-of-n, DKG among
 * themselves), member witnesses that cosign the hub's audit log (`relink witness serve`, two by default,
 * each run for a member institution) and member nodes driven through the `relink` CLI. Members trust the
 * witnesses' keys, so every receipt must carry their cosignatures. Used by the demo and end-to-end tests.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ed25519 } from "@noble/curves/ed25519.js";
import { toBase64Url, toHex } from "@relink/protocol";
import { createRequester } from "@relink/protocol/http";
import { formatSignerKey, formatVerifierKey, generateSignerKey, verifierOf } from "@relink/tlog";
import {
  demoExposureDeadlineMs,
  freePort,
  type Proc,
  runProcess,
  startProcess,
  startTimeoutMs,
  waitForHealthy,
} from "./processes.ts";

const root = join(import.meta.dirname, "../../..");
export const SCRIPTS = {
  hub: join(root, "apps/hub/src/main.ts"),
  keyholder: join(root, "apps/keyholder/src/main.ts"),
  relink: join(root, "apps/member-node/src/cli.ts"),
} as const;

export interface NetworkOptions {
  /** Working directory for all state (data dirs, configs, member homes). */
  dir: string;
  /** PostgreSQL connection string for the hub; embedded PGlite in `dir` when absent. */
  databaseUrl?: string;
  networkId?: string;
  holders?: number;
  threshold?: number;
  /** Checkpoint cadence of the hub's audit log. */
  checkpointIntervalMs?: number;
  /** Member witnesses cosigning the log (default: eastern-bank and anxin-consumer); receipts need all. */
  witnesses?: readonly string[];
  /** The hub's `exposure` network config (apps/hub/src/network.ts), e.g. a longer deadline for benchmarks. */
  exposure?: Record<string, number | boolean>;
  /** The hub's `abuse` network config (apps/hub/src/network.ts), e.g. a larger consent quota for benchmarks. */
  abuse?: Record<string, number | string>;
  /**
   * The key holders' own per-member daily evaluation caps (apps/keyholder usage.ts): 500 a day for any
   * member unless listed. The holders' operators decide these, independently of the hub's quotas.
   */
  evaluationCaps?: { default?: number; members?: Record<string, number> };
  /** The key holders' member-directory cache lifetime, seconds (default 2; the holders' own default is 30). */
  directoryTtlSeconds?: number;
  /** Serve the web portal from the hub (RELINK_PORTAL=1; needs a portal build) and let browsers call holders. */
  portal?: boolean;
}

export interface RunningNetwork {
  hubUrl: string;
  logKey: string;
  adminKeyFile: string;
  /** The network DPO's key file (`relink dpo keygen` format), listed in the hub's `dpoKeys` (ADR 0040). */
  networkDpoKeyFile: string;
  hub: Proc;
  holders: Proc[];
  holderUrls: string[];
  /** The witnesses' cosignature verifier keys (members trust all of them: k = their number). */
  witnessKeys: string[];
  witnesses: Proc[];
  /** Runs `relink …` as a process; the member home is in `dir/members/<home>` when `home` is given. */
  relink(args: string[], home?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  /** Starts a long-running `relink …` (e.g. `serve`) as a process, stopped with the network. */
  daemon(name: string, args: string[], home: string): Proc;
  homeDir(home: string): string;
  stop(): Promise<void>;
}

export async function startNetwork(o: NetworkOptions): Promise<RunningNetwork> {
  const n = o.holders ?? 3;
  const t = o.threshold ?? 2;
  const networkId = o.networkId ?? "relink-demo";
  mkdirSync(o.dir, { recursive: true });
  const started: Proc[] = [];
  try {
    // Administrator key: the hub's network config lists its public half.
    const adminSecret = ed25519.utils.randomSecretKey();
    const adminKeyFile = join(o.dir, "admin.key");
    writeFileSync(adminKeyFile, `${toHex(adminSecret)}\n`, { mode: 0o600 });
    // The network DPO's own key: the hub's network config lists it in `dpoKeys`.
    const networkDpoSecret = ed25519.utils.randomSecretKey();
    const networkDpoKeyFile = join(o.dir, "network-dpo.key");
    writeFileSync(networkDpoKeyFile, `${toHex(networkDpoSecret)}\n`, { mode: 0o600 });

    const hubPort = await freePort();
    const hubUrl = `http://127.0.0.1:${hubPort}`;
    const holderPorts = await Promise.all(Array.from({ length: n }, () => freePort()));
    const holderUrls = holderPorts.map((p) => `http://127.0.0.1:${p}`);

    // Key holders: identities, then the DKG configuration they share.
    const identities: { identityPublicKey: string; encryptionPublicKey: string }[] = [];
    for (let i = 1; i <= n; i++) {
      const r = await runProcess(SCRIPTS.keyholder, [
        "init",
        "--data-dir",
        join(o.dir, `holder-${i}`),
        "--index",
        String(i),
      ]);
      if (r.code !== 0) throw new Error(`keyholder init ${i}: ${r.stderr}`);
      identities.push(JSON.parse(r.stdout) as { identityPublicKey: string; encryptionPublicKey: string });
    }
    const holderNetwork = join(o.dir, "keyholders.json");
    writeFileSync(
      holderNetwork,
      JSON.stringify({
        networkId,
        epoch: 1,
        threshold: t,
        holders: identities.map((id, i) => ({ index: i + 1, url: holderUrls[i], ...id })),
      }),
    );
    const hubNetwork = join(o.dir, "network.json");
    writeFileSync(
      hubNetwork,
      JSON.stringify({
        networkId,
        epoch: 1,
        threshold: t,
        keyHolders: holderUrls.map((url, i) => ({
          index: i + 1,
          url,
          identityPublicKey: identities[i]!.identityPublicKey,
        })),
        retentionDays: 730,
        adminKeys: [toBase64Url(ed25519.getPublicKey(adminSecret))],
        dpoKeys: [toBase64Url(ed25519.getPublicKey(networkDpoSecret))],
        exposure: { subjectsDeadlineMs: demoExposureDeadlineMs(), ...o.exposure },
        ...(o.abuse ? { abuse: o.abuse } : {}),
      }),
    );
    const capsFile = join(o.dir, "keyholder-evaluation-caps.json");
    writeFileSync(capsFile, JSON.stringify({ default: 500, members: {}, ...o.evaluationCaps }));

    // The audit log's signer key is made here (as an operator would provision it), so the verifier key
    // members pin is known without reading the hub's output, and the witnesses can pin it first.
    const logSigner = generateSignerKey("relink.example/audit-log/v1", (k) =>
      crypto.getRandomValues(new Uint8Array(k)),
    );
    const logKeyFile = join(o.dir, "log-signing.key");
    writeFileSync(logKeyFile, `${formatSignerKey(logSigner)}\n`, { mode: 0o600 });
    const logKey = formatVerifierKey(verifierOf(logSigner));
    const witnessKeys: string[] = [];
    const witnesses: Proc[] = [];
    for (const name of o.witnesses ?? ["eastern-bank", "anxin-consumer"]) {
      const wdir = join(o.dir, "witnesses", name);
      mkdirSync(wdir, { recursive: true, mode: 0o700 });
      const keygen = await runProcess(SCRIPTS.relink, [
        "witness",
        "keygen",
        "--name",
        `${name}.example/witness`,
        "--out",
        join(wdir, "witness.key"),
      ]);
      if (keygen.code !== 0) throw new Error(`witness keygen ${name}: ${keygen.stderr}`);
      witnessKeys.push(keygen.stdout.trim());
      const w = startProcess(`witness-${name}`, SCRIPTS.relink, [
        "witness",
        "serve",
        "--key",
        join(wdir, "witness.key"),
        "--log-key",
        logKey,
        "--state",
        join(wdir, "state.json"),
        "--port",
        "0",
      ]);
      started.push(w);
      witnesses.push(w);
    }
    const witnessUrls = await Promise.all(
      witnesses.map(async (w) => (await w.waitFor(/witness listening on (http:\/\/\S+)/))[1]!),
    );

    const hub = startProcess("hub", SCRIPTS.hub, [], {
      HUB_PORT: String(hubPort),
      RELINK_DATA_DIR: join(o.dir, "hub"),
      DATABASE_URL: o.databaseUrl ?? "",
      RELINK_NETWORK_CONFIG: hubNetwork,
      RELINK_LOG_KEY_FILE: logKeyFile,
      RELINK_LOG_WITNESSES: witnessKeys.map((k, i) => `${k} ${witnessUrls[i]}`).join(","),
      RELINK_LOG_CHECKPOINT_INTERVAL_MS: String(o.checkpointIntervalMs ?? 2000),
      RELINK_PORTAL: o.portal ? "1" : "",
    });
    started.push(hub);
    const holders = holderPorts.map((port, i) =>
      startProcess(
        `holder-${i + 1}`,
        SCRIPTS.keyholder,
        [
          "serve",
          "--data-dir",
          join(o.dir, `holder-${i + 1}`),
          "--network",
          holderNetwork,
          "--port",
          String(port),
          "--hub",
          hubUrl,
          "--workers",
          "1",
          "--directory-ttl",
          String(o.directoryTtlSeconds ?? 2),
          "--directory-refetch",
          "1",
          "--evaluation-caps",
          capsFile,
        ],
        { RELINK_CORS_ORIGINS: o.portal ? hubUrl : "" },
      ),
    );
    started.push(...holders);
    // Readiness by health endpoints (deadline RELINK_START_TIMEOUT_MS): the hub has migrated, every
    // holder has its key (DKG done), then the hub serves the whole key-holder set.
    await waitForHealthy(`${hubUrl}/healthz`, hub);
    await Promise.all(
      holders.map((h, i) =>
        waitForHealthy(`${holderUrls[i]}/healthz`, h, (j) => (j as { status?: string }).status === "ok"),
      ),
    );
    const probe = createRequester({ retry: { retries: 0 } });
    const deadline = Date.now() + startTimeoutMs();
    for (;;) {
      const res = await probe(`${hubUrl}/trpc/network.info`).catch(() => undefined);
      if (res?.ok) {
        const body = (await res.json()) as { result: { data: { keyHolders: unknown[] } } };
        if (body.result.data.keyHolders.length === n) break;
      } else {
        await res?.body?.cancel();
      }
      if (Date.now() > deadline)
        throw new Error(
          `network did not become ready (RELINK_START_TIMEOUT_MS)\n${hub.output().slice(-2000)}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
    const homeDir = (home: string) => join(o.dir, "members", home);
    return {
      hubUrl,
      logKey,
      adminKeyFile,
      networkDpoKeyFile,
      hub,
      holders,
      holderUrls,
      witnessKeys,
      witnesses,
      homeDir,
      relink: (args, home) => runProcess(SCRIPTS.relink, home ? [...args, "--home", homeDir(home)] : args),
      daemon: (name, args, home) => {
        const p = startProcess(name, SCRIPTS.relink, [...args, "--home", homeDir(home)]);
        started.push(p);
        return p;
      },
      stop: async () => {
        await Promise.all(started.map((p) => p.stop()));
      },
    };
  } catch (error) {
    await Promise.all(started.map((p) => p.stop()));
    throw error;
  }
}

export interface MemberSpec {
  slug: string;
  name: string;
  kind: "bank" | "consumer_finance" | "auto_finance" | "collection_agency" | "other";
  capabilities: ("lender" | "collector" | "querier")[];
  lookupQuota?: number;
  /** Daily OPRF evaluations the key holders allow this member. */
  evaluationQuota?: number;
}

/** `relink init` for a member and onboarding by the admin; returns the member's id. */
export async function addMember(net: RunningNetwork, m: MemberSpec): Promise<string> {
  const init = await net.relink(
    [
      "init",
      "--hub",
      net.hubUrl,
      "--log-key",
      net.logKey,
      ...net.witnessKeys.flatMap((k) => ["--witness", k]),
    ],
    m.slug,
  );
  if (init.code !== 0) throw new Error(`relink init ${m.slug}: ${init.stderr}`);
  const { signingPublicKey } = JSON.parse(init.stdout) as { signingPublicKey: string };
  const args = [
    "admin",
    "onboard",
    "--hub",
    net.hubUrl,
    "--admin-key",
    net.adminKeyFile,
    "--slug",
    m.slug,
    "--name",
    m.name,
    "--kind",
    m.kind,
    "--capabilities",
    m.capabilities.join(","),
    "--signing-key",
    signingPublicKey,
    ...(m.lookupQuota !== undefined ? ["--lookup-quota", String(m.lookupQuota)] : []),
    ...(m.evaluationQuota !== undefined ? ["--evaluation-quota", String(m.evaluationQuota)] : []),
  ];
  const r = await net.relink(args);
  if (r.code !== 0) throw new Error(`onboard ${m.slug}: ${r.stderr}`);
  return (JSON.parse(r.stdout) as { id: string }).id;
}
