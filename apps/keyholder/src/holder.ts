/**
 * One key holder: composition of identity, network config, DKG ceremony, key store, member directory,
 * request authentication, usage ledger and the OPRF worker pool behind the HTTP routes.
 *
 * Routes:
 *   GET  /healthz          liveness and phase ("dkg" while the ceremony runs, then "ok"), and the member
 *                          directory's version held (ADR 0038; absent before the first fetch)
 *   GET  /v1/info          protocol `keyHolderInfo` (this holder's public share, the group key)
 *   GET  /v1/public-keys   the epoch's ThresholdPublicKeys (all public shares), for the hub's network policy
 *   GET  /v1/usage         per-member per-day evaluation counts (member ids and counts only)
 *   POST /v1/evaluate      signed member request → protocol `evaluateOutput`
 *   POST /v1/dkg/round1    signed DKG broadcast from a peer holder
 *   POST /v1/dkg/round2    signed, sealed DKG share from a peer holder
 */
import { chmodSync } from "node:fs";
import type { Server } from "node:http";
import { join } from "node:path";
import {
  bytesEqual,
  type EvaluateOutput,
  evaluateInput,
  fromBase64Url,
  keyHolderAudience,
  keyHolderInfo,
  RelinkError,
  SIGNATURE_HEADERS,
  toBase64Url,
} from "@relink/protocol";
import { type HolderKey, PsiError, type ThresholdPublicKeys } from "@relink/psi";
import { createOprfPool, type OprfPool } from "@relink/psi/pool";
import { chooseNodeGroup } from "@relink/ristretto-native";
import { authenticateMemberRequest, NonceCache } from "./auth.ts";
import { DkgCeremony, verifyRound1, verifyRound2 } from "./ceremony.ts";
import type { NetworkConfig } from "./config.ts";
import { MemberDirectory } from "./directory.ts";
import { DIR_MODE } from "./files.ts";
import type { HolderIdentity } from "./identity.ts";
import { loadEpoch, saveEpoch } from "./store.ts";
import {
  DEFAULT_EVALUATION_CAP,
  type EvaluationCaps,
  effectiveEvaluationQuota,
  USAGE_FILE,
  UsageLedger,
} from "./usage.ts";

/**
 * CORS (ADR 0060): the portal's browser worker calls the key holders directly; only listed origins. The
 * preflight allows every signed-request header, taken from protocol so that a new one (such as the audience)
 * is never missed, and the JSON body's.
 */
export function keyHolderCors(origins: readonly string[]): CorsPolicy {
  return {
    origins,
    methods: "GET, POST",
    headers: ["content-type", ...Object.values(SIGNATURE_HEADERS)].join(", "),
  };
}

import {
  type CorsPolicy,
  createHttpServer,
  HttpError,
  type Logger,
  listen,
  type Route,
  readBody,
  requestToVerify,
  sendJson,
} from "@relink/protocol/http";

/** Largest evaluate body: MAX_EVALUATION_BATCH elements of 43 base64url characters plus JSON framing. */
export const MAX_EVALUATE_BODY_BYTES = 256 * 1024;
export const MAX_DKG_BODY_BYTES = 64 * 1024;
/** From this many elements on, the native backend validates a request on every core (libuv pool). */
const NATIVE_VALIDATE_FROM = 256;

export interface KeyHolderOptions {
  dataDir: string;
  config: NetworkConfig;
  identity: HolderIdentity;
  hubUrl: string;
  host: string;
  port: number;
  log: Logger;
  /** Worker threads of the OPRF pool (native libsodium, else libsodium WASM: ADR 0019). */
  workers: number;
  dkgTimeoutMs: number;
  directoryTtlMs: number;
  directoryRefetchMs: number;
  /** Long poll on the member directory (ADR 0038): how long each poll may wait; 0 = TTL only. Default 25 s. */
  directoryWaitMs?: number;
  /** Bound on one directory request beyond the poll's wait. Default 10 s. */
  directoryTimeoutMs?: number;
  /** This holder's own per-member daily evaluation caps (default: DEFAULT_EVALUATION_CAP for everyone). */
  evaluationCaps?: EvaluationCaps;
  /** Browser origins allowed to call this holder (the portal's); none by default. */
  corsOrigins?: readonly string[];
  clock?: () => number;
}

export interface KeyHolder {
  url: string;
  port: number;
  /** Resolves once the holder has its key (at once if it was stored); rejects if the DKG fails. */
  ready: Promise<{ dkg: boolean; groupPublicKey: Uint8Array }>;
  close(): Promise<void>;
}

function checkIdentity(config: NetworkConfig, identity: HolderIdentity): void {
  const entry = config.holders.find((h) => h.index === identity.index);
  if (!entry) throw new Error(`this holder's index ${identity.index} is not in the network config`);
  if (
    !bytesEqual(entry.identityPublicKey, identity.identityPublicKey) ||
    !bytesEqual(entry.encryptionPublicKey, identity.encryptionPublicKey)
  ) {
    throw new Error(
      `the network config lists other public keys for holder ${identity.index} than this data dir holds`,
    );
  }
}

function parseJson(raw: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(raw));
  } catch {
    throw new RelinkError("BAD_INPUT", "request body is not JSON");
  }
}

export async function startKeyHolder(o: KeyHolderOptions): Promise<KeyHolder> {
  const { config, identity, log } = o;
  const clock = o.clock ?? Date.now;
  const caps = o.evaluationCaps ?? { default: DEFAULT_EVALUATION_CAP, members: {} };
  checkIdentity(config, identity);
  chmodSync(o.dataDir, DIR_MODE); // the identity, the key share and the usage ledger: owner only

  const stored = loadEpoch(o.dataDir, config);
  if (stored && !bytesEqual(stored.configDigest, config.digest)) {
    throw new Error(
      `the key stored for ${config.networkId}/${config.epoch} was generated under a different network config (holders, keys or threshold changed): use a new epoch`,
    );
  }
  let key: HolderKey | undefined = stored?.key;
  let publicKeys: ThresholdPublicKeys | undefined = stored?.publicKeys;
  const ceremony = stored ? undefined : new DkgCeremony({ config, identity, log, timeoutMs: o.dkgTimeoutMs });

  const nonces = new NonceCache();
  const ledger = UsageLedger.open(join(o.dataDir, USAGE_FILE), { log, nonces, now: clock() });
  const directory = new MemberDirectory({
    hubUrl: o.hubUrl,
    ttlMs: o.directoryTtlMs,
    refetchMinMs: o.directoryRefetchMs,
    log,
    identitySecretKey: identity.identitySecretKey,
    networkId: config.networkId,
    ...(o.directoryWaitMs !== undefined ? { waitMs: o.directoryWaitMs } : {}),
    ...(o.directoryTimeoutMs !== undefined ? { requestTimeoutMs: o.directoryTimeoutMs } : {}),
  });
  // Native libsodium when its addon loads, else libsodium WASM (ADR 0019); one log line says which and why.
  const chosen = await chooseNodeGroup({
    log: (message, fields) =>
      (fields.reason ? log.warn : log.info).call(log, "keyholder.group", { ...fields, message }),
  });
  const group = chosen.group;
  const pool: OprfPool = await createOprfPool({ size: o.workers, ...chosen.pool });

  const requireKey = (): { key: HolderKey; publicKeys: ThresholdPublicKeys } => {
    if (key && publicKeys) return { key, publicKeys };
    const why = ceremony?.status === "failed" ? "failed" : "in progress";
    throw new HttpError(
      503,
      "UNAVAILABLE",
      `key generation for epoch ${config.epoch} is ${why}; this holder cannot evaluate yet`,
    );
  };

  const evaluate: Route["handle"] = async ({ req, res, url }) => {
    const started = performance.now();
    let slug: string | undefined;
    try {
      const { key: k } = requireKey();
      const body = await readBody(req, MAX_EVALUATE_BODY_BYTES);
      const who = await authenticateMemberRequest(
        { directory, nonces, clock, audience: keyHolderAudience(config.networkId, identity.index) },
        requestToVerify(req, url, body, "POST"),
      );
      slug = who.member.slug;
      if (who.member.status !== "active")
        throw new RelinkError("MEMBER_SUSPENDED", `member ${slug} is suspended`);
      const parsed = evaluateInput.safeParse(parseJson(body));
      if (!parsed.success) {
        const issue = parsed.error.issues[0]!;
        const field = issue.path
          .map((p, i) => (typeof p === "number" ? `[${p}]` : `${i ? "." : ""}${String(p)}`))
          .join("");
        throw new RelinkError("BAD_INPUT", `${field || "body"}: ${issue.message}`, field ? { field } : {});
      }
      const input = parsed.data;
      if (input.networkId !== k.networkId || input.epoch !== k.epoch) {
        throw new RelinkError(
          "WRONG_EPOCH",
          `this key holder serves ${k.networkId} epoch ${k.epoch}, not ${input.networkId} epoch ${input.epoch}`,
        );
      }
      const decoded = input.blindedElements.map((text) => fromBase64Url(text));
      // Native: one parallel pass on the libuv pool; only a refused batch is re-checked element by element
      // to name the field (the same messages as the per-element path).
      const allValid =
        chosen.native !== undefined &&
        decoded.length >= NATIVE_VALIDATE_FROM &&
        (await chosen.native.validateManyAsync(decoded, "blinded element").then(
          () => true,
          () => false,
        ));
      const blindedElements = allValid
        ? decoded
        : decoded.map((bytes, j) => {
            const field = `blindedElements[${j}]`;
            try {
              group.validate(bytes, field);
            } catch (error) {
              if (error instanceof PsiError)
                throw new RelinkError("BAD_INPUT", `${field}: ${error.message}`, { field });
              throw error;
            }
            return bytes;
          });
      ledger.meter(
        {
          memberId: who.member.memberId,
          quota: effectiveEvaluationQuota(caps, who.member),
          count: blindedElements.length,
          epoch: k.epoch,
          nonce: who.nonceKey,
          ts: who.timestampMs,
        },
        clock(),
      );
      const request = { networkId: k.networkId, epoch: k.epoch, blindedElements };
      // proof "none": round 1 of ADR 0013's combined check (1 multiplication per element, no proof).
      const proven = input.proof === "none" ? undefined : await pool.evaluateAsHolder(k, request);
      const r = proven ?? (await pool.evaluateUnproven(k, request));
      const out: EvaluateOutput = {
        networkId: r.networkId,
        epoch: r.epoch,
        holder: r.holder,
        evaluatedElements: r.evaluatedElements.map(toBase64Url),
        ...(proven ? { proof: toBase64Url(proven.proof) } : {}),
      };
      sendJson(res, 200, out);
      log.info("evaluate", {
        member: slug,
        count: blindedElements.length,
        ms: Math.round(performance.now() - started),
      });
    } catch (error) {
      if (error instanceof RelinkError) {
        log.info("evaluate.refused", { ...(slug ? { member: slug } : {}), code: error.code });
      }
      throw error;
    }
  };

  const dkgRoute =
    (round: 1 | 2): Route["handle"] =>
    async ({ req, res }) => {
      try {
        const json = parseJson(await readBody(req, MAX_DKG_BODY_BYTES));
        if (ceremony) {
          if (round === 1) ceremony.receiveRound1(json);
          else ceremony.receiveRound2(json);
        } else {
          // The key exists already: still authenticate, so the answer says exactly what was wrong.
          if (round === 1) verifyRound1(config, identity.index, json);
          else verifyRound2(config, identity, json);
          throw new RelinkError(
            "CONFLICT",
            `holder ${identity.index} already holds its key for epoch ${config.epoch}`,
          );
        }
        sendJson(res, 200, { accepted: true });
      } catch (error) {
        if (error instanceof RelinkError)
          log.warn("dkg.refused", { round, code: error.code, message: error.message });
        throw error;
      }
    };

  const routes: Route[] = [
    {
      method: "GET",
      path: "/healthz",
      handle: ({ res }) =>
        sendJson(res, 200, {
          status: key ? "ok" : ceremony?.status === "failed" ? "failed" : "dkg",
          holder: identity.index,
          networkId: config.networkId,
          epoch: config.epoch,
          ...(directory.version !== undefined ? { directoryVersion: directory.version } : {}),
        }),
    },
    {
      method: "GET",
      path: "/v1/info",
      handle: ({ res }) => {
        const { key: k, publicKeys: pk } = requireKey();
        sendJson(
          res,
          200,
          keyHolderInfo.parse({
            networkId: k.networkId,
            epoch: k.epoch,
            holder: k.index,
            threshold: pk.threshold,
            publicShare: toBase64Url(k.publicShare),
            groupPublicKey: toBase64Url(pk.groupPublicKey),
          }),
        );
      },
    },
    {
      method: "GET",
      path: "/v1/public-keys",
      handle: ({ res }) => {
        const { publicKeys: pk } = requireKey();
        sendJson(res, 200, {
          networkId: pk.networkId,
          epoch: pk.epoch,
          threshold: pk.threshold,
          groupPublicKey: toBase64Url(pk.groupPublicKey),
          publicShares: [...pk.publicShares]
            .sort(([a], [b]) => a - b)
            .map(([index, share]) => ({ index, publicShare: toBase64Url(share) })),
        });
      },
    },
    {
      method: "GET",
      path: "/v1/usage",
      handle: ({ res }) =>
        sendJson(res, 200, { holder: identity.index, networkId: config.networkId, usage: ledger.rows() }),
    },
    { method: "POST", path: "/v1/evaluate", handle: evaluate },
    { method: "POST", path: "/v1/dkg/round1", handle: dkgRoute(1) },
    { method: "POST", path: "/v1/dkg/round2", handle: dkgRoute(2) },
  ];

  // Keep-alive and header timeouts: protocol's hardenServer (longer than any Relink client's idle socket).
  const server: Server = createHttpServer(routes, log, {
    timeouts: { requestTimeoutMs: 60_000 },
    cors: keyHolderCors(o.corsOrigins ?? []),
  });
  let bound: { url: string; port: number };
  try {
    bound = await listen(server, o.port, o.host);
  } catch (error) {
    await pool.close();
    ledger.close();
    throw error;
  }
  log.info("keyholder.listening", { url: bound.url, holder: identity.index, phase: key ? "serve" : "dkg" });
  // Revocations, rotations and suspensions reach this holder by long poll, within about a second (ADR 0038).
  directory.follow();

  const ready = (async () => {
    if (!ceremony) return { dkg: false, groupPublicKey: publicKeys!.groupPublicKey };
    const result = await ceremony.run();
    saveEpoch(o.dataDir, { key: result.key, publicKeys: result.publicKeys, configDigest: config.digest });
    key = result.key;
    publicKeys = result.publicKeys;
    return { dkg: true, groupPublicKey: result.publicKeys.groupPublicKey };
  })();
  // Callers observe failures through `ready`; keep an unobserved rejection from crashing the process.
  ready.catch(() => {});

  let closed = false;
  return {
    url: bound.url,
    port: bound.port,
    ready,
    async close() {
      if (closed) return;
      closed = true;
      await directory.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await pool.close();
      ledger.close();
    },
  };
}
