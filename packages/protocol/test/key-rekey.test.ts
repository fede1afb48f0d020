/**
 * The re-key statement (ADR 0037): every field is bound, its domain string is its own (a key-rotation proof or
 * a request signature by the same key never passes), and the proof file round-trips through its schema.
 */
import { describe, expect, it } from "vitest";
import {
  ed25519SignerFor,
  KEY_REKEY_DST,
  keyRekeyMessage,
  keyRotationMessage,
  lengthPrefixed,
  proveRekeyPossession,
  rekeyProofFile,
  rekeyProofFileOf,
  verifyRekeyPossession,
} from "../src/index.ts";

const key = ed25519SignerFor(new Uint8Array(32).fill(4));
const statement = {
  networkId: "relink.test",
  member: "acme-bank",
  newPublicKey: key.publicKey,
  timestampMs: 1_764_750_000_000,
  nonce: new Uint8Array(16).fill(9),
};

describe("re-key statement", () => {
  it("is the length-prefixed list the ADR names", () => {
    expect(keyRekeyMessage(statement)).toEqual(
      lengthPrefixed(
        KEY_REKEY_DST,
        "relink.test",
        "acme-bank",
        key.publicKey,
        "1764750000000",
        statement.nonce,
      ),
    );
  });

  it("verifies for the new key, and fails when any field changes", () => {
    const proof = proveRekeyPossession(key, statement);
    expect(verifyRekeyPossession(proof, statement)).toBe(true);
    for (const s of [
      { ...statement, networkId: "relink.other" },
      { ...statement, member: "acme-bank2" },
      { ...statement, timestampMs: statement.timestampMs + 1 },
      { ...statement, nonce: new Uint8Array(16) },
      { ...statement, newPublicKey: ed25519SignerFor(new Uint8Array(32).fill(5)).publicKey },
    ]) {
      expect(verifyRekeyPossession(proof, s)).toBe(false);
    }
    const flipped = proof.slice();
    flipped[10]! ^= 1;
    expect(verifyRekeyPossession(flipped, statement)).toBe(false);
    expect(verifyRekeyPossession(proof.slice(0, 63), statement)).toBe(false);
  });

  it("does not accept a key-rotation proof by the same key over the same values", () => {
    const rotation = key.sign(
      keyRotationMessage({
        networkId: statement.networkId,
        memberId: statement.member,
        oldKeyFingerprint: new Uint8Array(32),
        newPublicKey: key.publicKey,
        timestampMs: statement.timestampMs,
        nonce: statement.nonce,
      }),
    );
    expect(verifyRekeyPossession(rotation, statement)).toBe(false);
  });

  it("round-trips the proof file; a malformed one is refused naming the field", () => {
    const file = rekeyProofFileOf(statement, proveRekeyPossession(key, statement));
    expect(rekeyProofFile.parse(JSON.parse(JSON.stringify(file)))).toEqual(file);
    const bad = rekeyProofFile.safeParse({ ...file, member: "Acme Bank" });
    expect(bad.success).toBe(false);
    expect(bad.error!.issues[0]!.path).toEqual(["member"]);
    expect(rekeyProofFile.safeParse({ ...file, kind: "something-else" }).success).toBe(false);
  });
});
