/**
 * The DKG ceremony among the holders of one epoch, over HTTP (psi dkgRound1/2/3; the key k is never
 * assembled anywhere). Every holder runs the same steps, pushing its own messages and collecting its peers':
 *
 *   1. dkgRound1 → sign the broadcast → POST /v1/dkg/round1 to every peer (retry until accepted);
 *   2. wait for the n−1 peer broadcasts → dkgRound2 → seal each share to its recipient, sign, POST
 *      /v1/dkg/round2 (retry until accepted);
 *   3. wait for the n−1 shares → check each sender saw the same round-1 transcript → dkgRound3.
 *
 * Received messages are checked before they are kept (config digest, epoch, sender, signature, and for
 * round 2 the seal); a retried identical message is accepted again, a different one from the same sender
 * is refused as equivocation. Everything is bounded by one deadline: a peer that never answers or never
 * sends fails the ceremony with an error naming it. State lives in memory only: a holder restarted
 * mid-ceremony cannot rejoin it (see docs/runbooks/keyholders.md).
 */
import { bytesEqual, fromBase64Url, RelinkError, toBase64Url } from "@relink/protocol";
import { type Logger, relinkFetch } from "@relink/protocol/http";
import {
  type DkgResult,
  type DkgRound1Broadcast,
  type DkgRound2Message,
  dkgRound1,
  dkgRound2,
  dkgRound3,
  PsiError,
} from "@relink/psi";
import type { HolderPeer, NetworkConfig } from "./config.ts";
import {
  openRound1,
  openRound2,
  type Round1Wire,
  type Round2Wire,
  round1Wire,
  round2Wire,
  sameBroadcast,
  sealRound2,
  signRound1,
  transcriptHash,
  verifyRound2Signature,
} from "./dkg-wire.ts";
import type { HolderIdentity } from "./identity.ts";
import { SealOpenError } from "./seal.ts";

export class DkgFailure extends Error {
  override readonly name = "DkgFailure";
}

export interface CeremonyOptions {
  config: NetworkConfig;
  identity: HolderIdentity;
  log: Logger;
  /** The whole ceremony must finish within this many milliseconds. */
  timeoutMs: number;
  fetch?: typeof fetch;
}

function badInput(message: string): RelinkError {
  return new RelinkError("BAD_INPUT", message);
}

function zodMessage(error: { issues: { path: PropertyKey[]; message: string }[] }): string {
  const i = error.issues[0]!;
  return `${i.path.map(String).join(".") || "(body)"}: ${i.message}`;
}

/** Checks the parts common to both rounds and returns the sender's config entry. */
function checkEnvelope(
  config: NetworkConfig,
  self: number,
  w: { networkId: string; epoch: number; configDigest: string; from: number },
): HolderPeer {
  if (w.networkId !== config.networkId || w.epoch !== config.epoch) {
    throw new RelinkError(
      "WRONG_EPOCH",
      `DKG message for ${w.networkId}/${w.epoch}; this holder runs ${config.networkId}/${config.epoch}`,
    );
  }
  if (w.configDigest !== toBase64Url(config.digest)) {
    throw new RelinkError("CONFLICT", "DKG message from a holder started with a different network config");
  }
  const peer = config.holders.find((h) => h.index === w.from);
  if (!peer || w.from === self)
    throw badInput(`DKG message from holder ${w.from}: not a peer of holder ${self}`);
  return peer;
}

/** Parses and authenticates a round-1 message (used also once the key exists, to answer precisely). */
export function verifyRound1(config: NetworkConfig, self: number, body: unknown): DkgRound1Broadcast {
  const parsed = round1Wire.safeParse(body);
  if (!parsed.success) throw badInput(`round-1 message: ${zodMessage(parsed.error)}`);
  const w: Round1Wire = parsed.data;
  const peer = checkEnvelope(config, self, w);
  const b = openRound1(w, peer.identityPublicKey);
  if (!b)
    throw new RelinkError("BAD_SIGNATURE", `round-1 message: signature of holder ${w.from} does not verify`);
  if (b.commitment.length !== config.threshold) {
    throw badInput(
      `round-1 message of holder ${w.from}: ${b.commitment.length} commitments, expected ${config.threshold}`,
    );
  }
  return b;
}

export interface ReceivedShare {
  message: DkgRound2Message;
  transcript: Uint8Array;
}

/** Parses, authenticates and opens a round-2 message addressed to this holder. */
export function verifyRound2(config: NetworkConfig, identity: HolderIdentity, body: unknown): ReceivedShare {
  const parsed = round2Wire.safeParse(body);
  if (!parsed.success) throw badInput(`round-2 message: ${zodMessage(parsed.error)}`);
  const w: Round2Wire = parsed.data;
  const peer = checkEnvelope(config, identity.index, w);
  if (w.to !== identity.index)
    throw badInput(`round-2 message addressed to holder ${w.to}, this is holder ${identity.index}`);
  if (!verifyRound2Signature(w, peer.identityPublicKey)) {
    throw new RelinkError("BAD_SIGNATURE", `round-2 message: signature of holder ${w.from} does not verify`);
  }
  let share: Uint8Array;
  try {
    share = openRound2(w, identity.encryptionSecretKey, identity.encryptionPublicKey);
  } catch (error) {
    if (error instanceof SealOpenError)
      throw badInput(`round-2 share of holder ${w.from} does not open: ${error.message}`);
    throw error;
  }
  return {
    message: { networkId: w.networkId, epoch: w.epoch, from: w.from, to: w.to, share },
    transcript: fromBase64Url(w.transcript),
  };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });

export class DkgCeremony {
  readonly #o: CeremonyOptions;
  readonly #round1 = new Map<number, DkgRound1Broadcast>();
  readonly #round2 = new Map<number, ReceivedShare>();
  readonly #waiters = new Set<() => void>();
  readonly #abort = new AbortController();
  #status: "running" | "done" | "failed" = "running";

  constructor(o: CeremonyOptions) {
    this.#o = o;
  }

  get status(): "running" | "done" | "failed" {
    return this.#status;
  }

  #notify(): void {
    for (const w of this.#waiters) w();
  }

  /** POST /v1/dkg/round1 handler body. */
  receiveRound1(body: unknown): void {
    const b = verifyRound1(this.#o.config, this.#o.identity.index, body);
    const seen = this.#round1.get(b.from);
    if (seen) {
      if (sameBroadcast(seen, b)) return;
      throw new RelinkError("CONFLICT", `holder ${b.from} already sent a different round-1 broadcast`);
    }
    if (this.#status !== "running")
      throw new RelinkError("CONFLICT", `the DKG of this epoch is ${this.#status}`);
    this.#round1.set(b.from, b);
    this.#o.log.info("dkg.round1.received", { from: b.from });
    this.#notify();
  }

  /** POST /v1/dkg/round2 handler body. */
  receiveRound2(body: unknown): void {
    const r = verifyRound2(this.#o.config, this.#o.identity, body);
    const seen = this.#round2.get(r.message.from);
    if (seen) {
      if (bytesEqual(seen.message.share, r.message.share) && bytesEqual(seen.transcript, r.transcript))
        return;
      throw new RelinkError("CONFLICT", `holder ${r.message.from} already sent a different round-2 share`);
    }
    if (this.#status !== "running")
      throw new RelinkError("CONFLICT", `the DKG of this epoch is ${this.#status}`);
    this.#round2.set(r.message.from, r);
    this.#o.log.info("dkg.round2.received", { from: r.message.from });
    this.#notify();
  }

  /** Runs the ceremony to its end; rejects with a DkgFailure naming the peer or the complaint. */
  async run(): Promise<DkgResult> {
    const { config, identity, log } = this.#o;
    const deadline = Date.now() + this.#o.timeoutMs;
    const peers = config.holders.filter((h) => h.index !== identity.index);
    const params = {
      networkId: config.networkId,
      epoch: config.epoch,
      threshold: config.threshold,
      holders: config.holders.length,
    };
    try {
      log.info("dkg.start", { holders: params.holders, threshold: params.threshold });
      const r1 = dkgRound1(params, identity.index);
      const mine = signRound1(r1.broadcast, config.digest, identity.identitySecretKey);
      this.#round1.set(identity.index, r1.broadcast);
      await Promise.all(
        peers.map((p) => this.#push(p, "/v1/dkg/round1", mine, "round-1 broadcast", deadline)),
      );
      log.info("dkg.round1.sent", { to: peers.length });

      await this.#waitFor(
        () => peers.filter((p) => !this.#round1.has(p.index)),
        "round-1 broadcast",
        deadline,
      );
      const broadcasts = [...this.#round1.values()];
      const transcript = transcriptHash(config, config.digest, broadcasts);
      const r2 = dkgRound2(r1.state, broadcasts);
      await Promise.all(
        r2.messages.map((m) => {
          const peer = peers.find((p) => p.index === m.to)!;
          const wire = sealRound2(
            {
              networkId: config.networkId,
              epoch: config.epoch,
              configDigest: config.digest,
              from: identity.index,
              to: m.to,
              transcript,
            },
            m.share,
            peer.encryptionPublicKey,
            identity.identitySecretKey,
          );
          return this.#push(peer, "/v1/dkg/round2", wire, "round-2 share", deadline);
        }),
      );
      log.info("dkg.round2.sent", { to: peers.length });

      await this.#waitFor(() => peers.filter((p) => !this.#round2.has(p.index)), "round-2 share", deadline);
      for (const [from, r] of this.#round2) {
        if (!bytesEqual(r.transcript, transcript)) {
          throw new DkgFailure(
            `holder ${from} saw a different set of round-1 broadcasts than this holder (a holder equivocated, or messages were tampered with): abort this epoch's DKG`,
          );
        }
      }
      const result = dkgRound3(
        r2.state,
        broadcasts,
        [...this.#round2.values()].map((r) => r.message),
      );
      this.#status = "done";
      log.info("dkg.done", { groupPublicKey: toBase64Url(result.publicKeys.groupPublicKey) });
      return result;
    } catch (error) {
      this.#status = "failed";
      this.#abort.abort();
      this.#notify();
      if (error instanceof DkgFailure) throw error;
      if (error instanceof PsiError) throw new DkgFailure(`DKG check failed: ${error.message}`);
      throw error;
    }
  }

  async #waitFor(missing: () => HolderPeer[], what: string, deadline: number): Promise<void> {
    while (missing().length > 0) {
      if (this.#status === "failed") throw new DkgFailure("ceremony aborted");
      const left = deadline - Date.now();
      if (left <= 0) {
        const names = missing().map((p) => `holder ${p.index} (${p.url})`);
        throw new DkgFailure(`no ${what} from ${names.join(", ")} within ${this.#o.timeoutMs / 1000} s`);
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(t);
          this.#waiters.delete(done);
          resolve();
        };
        const t = setTimeout(done, Math.min(left, 1000));
        this.#waiters.add(done);
      });
    }
  }

  /** Delivers one message to one peer, retrying (bounded by the deadline) until it is accepted. */
  async #push(peer: HolderPeer, path: string, body: unknown, what: string, deadline: number): Promise<void> {
    const doFetch = this.#o.fetch ?? relinkFetch;
    const text = JSON.stringify(body);
    let delay = 100;
    let last = "no attempt";
    while (!this.#abort.signal.aborted) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      try {
        const res = await doFetch(`${peer.url}${path}`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: text,
          signal: AbortSignal.any([AbortSignal.timeout(Math.min(left, 10_000)), this.#abort.signal]),
        });
        if (res.ok) {
          await res.body?.cancel();
          return;
        }
        const wire = (
          (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } }
        )?.error;
        last = `HTTP ${res.status} ${wire?.code ?? ""} ${wire?.message ?? ""}`.trim();
        if (res.status >= 400 && res.status < 500) {
          throw new DkgFailure(`holder ${peer.index} (${peer.url}) refused our ${what}: ${last}`);
        }
      } catch (error) {
        if (error instanceof DkgFailure) throw error;
        const cause = (error as { cause?: { code?: string } }).cause?.code;
        last = cause ?? (error as Error).message;
      }
      await sleep(Math.min(delay, Math.max(0, deadline - Date.now())), this.#abort.signal);
      delay = Math.min(delay * 2, 2000);
    }
    if (this.#abort.signal.aborted) throw new DkgFailure("ceremony aborted");
    throw new DkgFailure(
      `holder ${peer.index} (${peer.url}) never accepted our ${what} within ${this.#o.timeoutMs / 1000} s (last error: ${last})`,
    );
  }
}
