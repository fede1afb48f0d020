/**
 * Composition of a running hub: opens the database, migrates, mounts the routes, listens.
 * Used by main.ts, by the demo network and by end-to-end tests (with their own db config and port 0).
 */
import type { Server } from "node:http";
import {
  type AbusePolicy,
  type AuditLogDeps,
  authenticateLedgerReader,
  type CoreDeps,
  type CosignRequester,
  createAuditLog,
  createCheckpointScheduler,
  createLogIntegrityMonitor,
  createMemberDirectoryWatch,
  DEFAULT_ABUSE_POLICY,
  DEFAULT_EXPOSURE_POLICY,
  ExposureCoordinator,
  type ExposurePolicy,
  httpCosignRequester,
  type MemberDirectoryWatch,
  type MemberDirectoryWatchOptions,
  purgeExpiredRecords,
  VerifiedProofCache,
  type WitnessEndpoint,
} from "@relink/core";
import {
  createDb,
  type DbConfig,
  type DbHandle,
  forgetNoncesBefore,
  migrateToLatest,
  purgeExposureLedger,
} from "@relink/db";
import { loadHe } from "@relink/he";
import { fromBase64Url, MAX_CLOCK_SKEW_MS } from "@relink/protocol";
import { createHttpServer, type Logger, listen, type Route } from "@relink/protocol/http";
import { type SignerKey, verifierOf } from "@relink/tlog";
import { healthRoutes, logHealthRoutes } from "./health.ts";
import { keyHolderDirectory, type NetworkConfig } from "./network.ts";
import { exposureRoutes, exposureSubmitLimit } from "./routes/exposure.ts";
import { logRoutes } from "./routes/log.ts";
import { trpcRoutes } from "./routes/trpc.ts";

export const HUB_VERSION = "0.1.0";

export interface RunningHub {
  url: string;
  port: number;
  db: DbHandle;
  server: Server;
  /** The audit log's dependencies, for the other use cases (present when `auditLog` was configured). */
  audit?: AuditLogDeps;
  /** The use cases' dependencies (present when `network` and `auditLog` were configured). */
  core?: CoreDeps;
  /** The scheduled self-audit of the stored log (present when `auditLog` was configured). */
  integrity?: ReturnType<typeof createLogIntegrityMonitor>;
  /** The exposure round coordinator (in memory, this process only; ADR 0033), with `core`. */
  exposure?: ExposureCoordinator;
  close(): Promise<void>;
}

export interface HubAuditLogOptions {
  /** The log's Ed25519 signer key; its name is the checkpoint origin. */
  signer: SignerKey;
  witnesses: readonly WitnessEndpoint[];
  /** Cadence of checkpoint publication; 0 disables the timer (publication on demand only). */
  checkpointIntervalMs: number;
  /**
   * Cadence of the self-audit (`verifyStoredLog`: every stored leaf re-hashed against the signed
   * checkpoints; result at GET /healthz/log, alert `audit.integrity_failed`). Default hourly; 0 disables it.
   */
  integrityIntervalMs?: number;
  requestCosignature?: CosignRequester;
  clock?: () => Date;
}

/** The network config's abuse settings as the use cases' policy (defaults for what it leaves out). */
export function abusePolicyOf(network: NetworkConfig): Partial<AbusePolicy> {
  const a = network.abuse ?? {};
  return {
    ...(a.dailyConsentRegistrations !== undefined
      ? { dailyConsentRegistrations: a.dailyConsentRegistrations }
      : {}),
    ...(a.maxTagsPerCase !== undefined ? { maxTagsPerCase: a.maxTagsPerCase } : {}),
    ...(a.freshConsentLookupsAlert !== undefined
      ? { freshConsentLookupsAlert: a.freshConsentLookupsAlert }
      : {}),
    ...(a.unconsentedLookupsAlert !== undefined
      ? { unconsentedLookupsAlert: a.unconsentedLookupsAlert }
      : {}),
    ...(a.sanctions !== undefined
      ? { sanctions: { ...DEFAULT_ABUSE_POLICY.sanctions, mode: a.sanctions } }
      : {}),
  };
}

/** The network config's exposure settings as the use cases' policy (defaults for what it leaves out). */
export function exposurePolicyOf(network: NetworkConfig): ExposurePolicy {
  const e = network.exposure ?? {};
  const d = DEFAULT_EXPOSURE_POLICY;
  return {
    ...d,
    k: e.k ?? d.k,
    budgetUnits: e.budgetUnits ?? d.budgetUnits,
    budgetWindowDays: e.budgetWindowDays ?? d.budgetWindowDays,
    cacheHours: e.cacheHours ?? d.cacheHours,
    maxRounds: e.maxRounds ?? d.maxRounds,
    minHoldingHours: e.minHoldingHours ?? d.minHoldingHours,
    requireBookDeclaration: e.requireBookDeclaration ?? d.requireBookDeclaration,
    deadlineMs: {
      subjects: e.subjectsDeadlineMs ?? d.deadlineMs.subjects,
      aggregate: e.aggregateDeadlineMs ?? d.deadlineMs.aggregate,
    },
  };
}

export async function startHub(options: {
  db: DbConfig;
  host?: string;
  port?: number;
  log: Logger;
  /** More routes, after the hub's own (the portal mounts a catch-all here); `core` when the API is mounted. */
  extraRoutes?: (db: DbHandle, core?: CoreDeps) => Route[];
  auditLog?: HubAuditLogOptions;
  /** The network this hub serves; with it (and an audit log) the tRPC API is mounted at /trpc. */
  network?: NetworkConfig;
  /** Key holders' long poll on the member directory (ADR 0038); defaults MEMBER_DIRECTORY_WATCH_DEFAULTS. */
  directoryWatch?: Partial<MemberDirectoryWatchOptions>;
  /** How often scheduled upkeep runs (retention purge, nonce expiry); 0 disables it. Default hourly. */
  upkeepIntervalMs?: number;
  fetch?: typeof fetch;
}): Promise<RunningHub> {
  const db = await createDb(options.db);
  let timer: NodeJS.Timeout | undefined;
  let upkeepTimer: NodeJS.Timeout | undefined;
  let integrityTimer: NodeJS.Timeout | undefined;
  let coordinator: ExposureCoordinator | undefined;
  let directoryWatch: MemberDirectoryWatch | undefined;
  // Scheduled work in flight; close() waits for it before closing the database.
  const inflight = new Set<Promise<unknown>>();
  const track = (p: Promise<unknown>) => {
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
  };
  try {
    await migrateToLatest(db.db);
    const log = options.log;
    const audit: AuditLogDeps | undefined = options.auditLog && {
      db: db.db,
      signer: options.auditLog.signer,
      witnesses: options.auditLog.witnesses,
      requestCosignature: options.auditLog.requestCosignature ?? httpCosignRequester(),
      clock: options.auditLog.clock ?? (() => new Date()),
      log: { info: log.info, warn: log.warn },
    };
    const clock = options.auditLog?.clock ?? (() => new Date());
    const integrityMs = options.auditLog?.integrityIntervalMs ?? 3_600_000;
    const integrity =
      audit &&
      createLogIntegrityMonitor(
        { db: db.db, clock, log },
        { logKey: verifierOf(options.auditLog!.signer), witnesses: audit.witnesses.map((w) => w.key) },
        { intervalMs: integrityMs },
      );
    const exposure = options.network ? exposurePolicyOf(options.network) : undefined;
    // One coordinator per hub process: the exposure rounds in flight live in its memory (ADR 0033).
    coordinator = audit && options.network ? new ExposureCoordinator() : undefined;
    // One version watcher per hub process, shared by every holder's long poll (ADR 0038).
    directoryWatch =
      audit && options.network
        ? createMemberDirectoryWatch({ db: db.db, log }, options.directoryWatch)
        : undefined;
    const core: CoreDeps | undefined =
      audit && options.network
        ? {
            db: db.db,
            clock,
            log,
            audit: createAuditLog({ ...audit, softwareVersion: `relink-hub-${HUB_VERSION}` }),
            policy: {
              networkId: options.network.networkId,
              epoch: options.network.epoch,
              threshold: options.network.threshold,
              retentionDays: options.network.retentionDays,
              lookupCapability: "collector",
              ...(exposure ? { exposure } : {}),
              abuse: abusePolicyOf(options.network),
            },
            keyHolders: keyHolderDirectory(options.network, options.fetch),
            ...(coordinator ? { exposure: { coordinator } } : {}),
            // One per hub process: a horizon proof is pairing-checked once and then recognised (ADR 0049).
            verifiedProofs: new VerifiedProofCache(),
            ...(directoryWatch ? { memberDirectoryWatch: directoryWatch } : {}),
          }
        : undefined;
    const networkKeys = options.network && {
      adminKeys: options.network.adminKeys.map(fromBase64Url),
      dpoKeys: (options.network.dpoKeys ?? []).map(fromBase64Url),
      keyHolderKeys: options.network.keyHolders.flatMap((h) =>
        h.identityPublicKey ? [fromBase64Url(h.identityPublicKey)] : [],
      ),
    };
    // Binary exposure submissions: a full round of the largest accepted preset's ciphertexts, no more.
    let exposureBodyLimit = 0;
    if (core && exposure) {
      const he = await loadHe();
      exposureBodyLimit = Math.max(
        ...exposure.presets.map((p) => exposureSubmitLimit(he.context(p).serializedBytes.ciphertext)),
      );
    }
    const routes = [
      ...healthRoutes({
        db: db.db,
        backend: db.kind,
        version: HUB_VERSION,
        ...(options.network ? { networkId: options.network.networkId } : {}),
      }),
      ...(audit
        ? logRoutes(
            audit,
            core && networkKeys ? (req) => authenticateLedgerReader(core, req, networkKeys) : undefined,
          )
        : []),
      ...(integrity ? logHealthRoutes({ status: integrity.status }) : []),
      ...(core && networkKeys ? trpcRoutes({ core, ...networkKeys }) : []),
      ...(core && exposureBodyLimit > 0 ? exposureRoutes({ core, maxBodyBytes: exposureBodyLimit }) : []),
      ...(options.extraRoutes?.(db, core) ?? []),
    ];
    const upkeepMs = options.upkeepIntervalMs ?? 3_600_000;
    if (core && upkeepMs > 0) {
      // Retention and nonce expiry; a nonce older than twice the clock skew can never be replayed.
      upkeepTimer = setInterval(() => {
        track(
          Promise.all([
            purgeExpiredRecords(core),
            forgetNoncesBefore(db.db, new Date(clock().getTime() - 2 * MAX_CLOCK_SKEW_MS)),
            // Exposure budgets only look back one window, cached answers one cache period.
            ...(exposure
              ? [
                  purgeExposureLedger(db.db, {
                    spendBefore: new Date(clock().getTime() - exposure.budgetWindowDays * 86_400_000),
                    cacheBefore: new Date(clock().getTime() - exposure.cacheHours * 3_600_000),
                  }),
                ]
              : []),
          ]).catch((error: unknown) => log.error("hub.upkeep_failed", { error: String(error) })),
        );
      }, upkeepMs);
      upkeepTimer.unref();
    }
    if (audit && options.auditLog!.checkpointIntervalMs > 0) {
      const cadence = createCheckpointScheduler(audit, {
        intervalMs: options.auditLog!.checkpointIntervalMs,
      });
      timer = setInterval(
        () => {
          track(
            cadence
              .tick()
              .catch((error: unknown) => log.error("audit.checkpoint_failed", { error: String(error) })),
          );
        },
        Math.min(options.auditLog!.checkpointIntervalMs, 1000),
      );
      timer.unref();
    }
    if (integrity && integrityMs > 0) {
      const runIntegrity = () =>
        track(
          integrity
            .tick()
            .catch((error: unknown) => log.error("audit.integrity_failed", { error: String(error) })),
        );
      runIntegrity(); // once at start, then on the cadence
      integrityTimer = setInterval(runIntegrity, Math.min(integrityMs, 60_000));
      integrityTimer.unref();
    }
    // Long polls (exposure.poll waits up to 25 s) and exposure queries (up to 3 rounds × the deadline)
    // hold a response open: no socket inactivity timeout. Receiving a whole request (a ≈ 15 MB binary
    // submission on a slow link) may take up to 5 minutes. Keep-alive and header timeouts: protocol's
    // hardenServer (longer than any Relink client keeps an idle connection).
    const server = createHttpServer(routes, options.log, {
      timeouts: { requestTimeoutMs: 300_000, socketTimeoutMs: 0 },
    });
    const { url, port } = await listen(server, options.port ?? 0, options.host ?? "127.0.0.1");
    return {
      url,
      port,
      db,
      server,
      ...(audit ? { audit } : {}),
      ...(core ? { core } : {}),
      ...(coordinator ? { exposure: coordinator } : {}),
      ...(integrity ? { integrity } : {}),
      close: async () => {
        clearInterval(timer);
        clearInterval(upkeepTimer);
        clearInterval(integrityTimer);
        // Ends long polls and the rounds in flight, so that open requests finish and the server can close.
        coordinator?.close();
        directoryWatch?.close();
        await Promise.all(inflight);
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await db.close();
      },
    };
  } catch (error) {
    clearInterval(timer);
    clearInterval(upkeepTimer);
    clearInterval(integrityTimer);
    coordinator?.close();
    directoryWatch?.close();
    await db.close();
    throw error;
  }
}
