/**
 * Wire form of the DKG messages exchanged between holders (POST /v1/dkg/round1, /v1/dkg/round2).
 *
 * Every message is signed with the sender's Ed25519 identity key (RFC 8032, strict verification) over a
 * length-prefixed list of its fields (protocol `lengthPrefixed`), and names the network config digest, so
 * holders started with different configs never mix messages. Round-2 shares are sealed to the recipient's
 * X25519 key (seal.ts) with associated data binding sender, recipient, network, epoch, config digest and
 * the sender's view of the round-1 transcript; a recipient whose own transcript differs aborts (this
 * detects a holder that sent different round-1 broadcasts to different peers).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import {
  bytes,
  bytesEqual,
  epoch,
  fromBase64Url,
  lengthPrefixed,
  networkId,
  toBase64Url,
} from "@relink/protocol";
import type { DkgRound1Broadcast } from "@relink/psi";
import { z } from "zod";
import { open, type Sealed, seal } from "./seal.ts";

export const ROUND1_DST = "relink/v1/keyholder/dkg-round1";
export const ROUND2_DST = "relink/v1/keyholder/dkg-round2";
export const SHARE_AAD_DST = "relink/v1/keyholder/dkg-share";
export const TRANSCRIPT_DST = "relink/v1/keyholder/dkg-transcript";

const index = z.number().int().min(1).max(255);

export const round1Wire = z.object({
  networkId,
  epoch,
  configDigest: bytes(32, "configDigest"),
  from: index,
  commitment: z.array(bytes(32, "commitment")).min(1).max(255),
  proofOfKnowledge: bytes(64, "proofOfKnowledge"),
  signature: bytes(64, "signature"),
});
export type Round1Wire = z.infer<typeof round1Wire>;

export const round2Wire = z.object({
  networkId,
  epoch,
  configDigest: bytes(32, "configDigest"),
  from: index,
  to: index,
  /** SHA-256 of the sender's view of all round-1 broadcasts. */
  transcript: bytes(32, "transcript"),
  encapsulatedKey: bytes(32, "encapsulatedKey"),
  /** 32-byte share + 16-byte Poly1305 tag. */
  ciphertext: bytes(48, "ciphertext"),
  signature: bytes(64, "signature"),
});
export type Round2Wire = z.infer<typeof round2Wire>;

interface Round1Fields {
  networkId: string;
  epoch: number;
  configDigest: Uint8Array;
  from: number;
  commitment: readonly Uint8Array[];
  proofOfKnowledge: Uint8Array;
}

function round1Message(m: Round1Fields): Uint8Array {
  return lengthPrefixed(
    ROUND1_DST,
    m.networkId,
    String(m.epoch),
    m.configDigest,
    String(m.from),
    String(m.commitment.length),
    ...m.commitment,
    m.proofOfKnowledge,
  );
}

export function signRound1(
  b: DkgRound1Broadcast,
  configDigest: Uint8Array,
  identitySecretKey: Uint8Array,
): Round1Wire {
  const signature = ed25519.sign(round1Message({ ...b, configDigest }), identitySecretKey);
  return {
    networkId: b.networkId,
    epoch: b.epoch,
    configDigest: toBase64Url(configDigest),
    from: b.from,
    commitment: b.commitment.map(toBase64Url),
    proofOfKnowledge: toBase64Url(b.proofOfKnowledge),
    signature: toBase64Url(signature),
  };
}

function verifySignature(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: false });
  } catch {
    return false;
  }
}

/** The broadcast of a schema-valid round-1 message if its signature verifies under `publicKey`. */
export function openRound1(w: Round1Wire, publicKey: Uint8Array): DkgRound1Broadcast | undefined {
  const b = {
    networkId: w.networkId,
    epoch: w.epoch,
    from: w.from,
    commitment: w.commitment.map(fromBase64Url),
    proofOfKnowledge: fromBase64Url(w.proofOfKnowledge),
  };
  const ok = verifySignature(
    fromBase64Url(w.signature),
    round1Message({ ...b, configDigest: fromBase64Url(w.configDigest) }),
    publicKey,
  );
  return ok ? b : undefined;
}

export function sameBroadcast(a: DkgRound1Broadcast, b: DkgRound1Broadcast): boolean {
  return (
    a.from === b.from &&
    a.commitment.length === b.commitment.length &&
    a.commitment.every((c, i) => bytesEqual(c, b.commitment[i]!)) &&
    bytesEqual(a.proofOfKnowledge, b.proofOfKnowledge)
  );
}

/** SHA-256 over all n round-1 broadcasts in index order: equal at every honest holder. */
export function transcriptHash(
  e: { networkId: string; epoch: number },
  configDigest: Uint8Array,
  broadcasts: readonly DkgRound1Broadcast[],
): Uint8Array {
  const sorted = [...broadcasts].sort((a, b) => a.from - b.from);
  return sha256(
    lengthPrefixed(
      TRANSCRIPT_DST,
      e.networkId,
      String(e.epoch),
      configDigest,
      String(sorted.length),
      ...sorted.flatMap((b) => [
        String(b.from),
        String(b.commitment.length),
        ...b.commitment,
        b.proofOfKnowledge,
      ]),
    ),
  );
}

export interface Round2Header {
  networkId: string;
  epoch: number;
  configDigest: Uint8Array;
  from: number;
  to: number;
  transcript: Uint8Array;
}

export function shareAssociatedData(h: Round2Header): Uint8Array {
  return lengthPrefixed(
    SHARE_AAD_DST,
    h.networkId,
    String(h.epoch),
    h.configDigest,
    String(h.from),
    String(h.to),
    h.transcript,
  );
}

function round2Message(h: Round2Header, s: Sealed): Uint8Array {
  return lengthPrefixed(
    ROUND2_DST,
    h.networkId,
    String(h.epoch),
    h.configDigest,
    String(h.from),
    String(h.to),
    h.transcript,
    s.encapsulatedKey,
    s.ciphertext,
  );
}

/** Seals `share` to the recipient's X25519 key, then signs the envelope with the sender's identity key. */
export function sealRound2(
  h: Round2Header,
  share: Uint8Array,
  recipientEncryptionKey: Uint8Array,
  identitySecretKey: Uint8Array,
): Round2Wire {
  const sealed = seal(recipientEncryptionKey, shareAssociatedData(h), share);
  return signSealedRound2(h, sealed, identitySecretKey);
}

/** Signs an already sealed envelope (exported so tests can sign tampered ciphertexts). */
export function signSealedRound2(h: Round2Header, sealed: Sealed, identitySecretKey: Uint8Array): Round2Wire {
  return {
    networkId: h.networkId,
    epoch: h.epoch,
    configDigest: toBase64Url(h.configDigest),
    from: h.from,
    to: h.to,
    transcript: toBase64Url(h.transcript),
    encapsulatedKey: toBase64Url(sealed.encapsulatedKey),
    ciphertext: toBase64Url(sealed.ciphertext),
    signature: toBase64Url(ed25519.sign(round2Message(h, sealed), identitySecretKey)),
  };
}

export function round2Header(w: Round2Wire): Round2Header {
  return {
    networkId: w.networkId,
    epoch: w.epoch,
    configDigest: fromBase64Url(w.configDigest),
    from: w.from,
    to: w.to,
    transcript: fromBase64Url(w.transcript),
  };
}

export function round2Sealed(w: Round2Wire): Sealed {
  return { encapsulatedKey: fromBase64Url(w.encapsulatedKey), ciphertext: fromBase64Url(w.ciphertext) };
}

export function verifyRound2Signature(w: Round2Wire, senderIdentityKey: Uint8Array): boolean {
  return verifySignature(
    fromBase64Url(w.signature),
    round2Message(round2Header(w), round2Sealed(w)),
    senderIdentityKey,
  );
}

/** Opens the sealed share (throws SealOpenError on any tampering). */
export function openRound2(
  w: Round2Wire,
  encryptionSecretKey: Uint8Array,
  encryptionPublicKey: Uint8Array,
): Uint8Array {
  return open(
    encryptionSecretKey,
    encryptionPublicKey,
    shareAssociatedData(round2Header(w)),
    round2Sealed(w),
  );
}
