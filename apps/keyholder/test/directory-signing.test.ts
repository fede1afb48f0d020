/**
 * The member directory is not public (ADR 0040): a holder signs its read with its identity key, exactly as
 * members sign requests, so the hub can verify it with protocol's shared check — and a changed path or a
 * different key does not verify.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { parseSignatureHeaders, RelinkError, verifyRequestSignature } from "@relink/protocol";
import { expect, it } from "vitest";
import { signedGetHeaders } from "../src/directory.ts";

const secret = new Uint8Array(32).fill(3);
const url = "http://hub.example:7400/trpc/network.memberDirectory";

function request(path: string, headers: Record<string, string>) {
  return { method: "GET", path, body: new Uint8Array(), header: (n: string) => headers[n.toLowerCase()] };
}

it("signs the directory GET so that protocol's verifier accepts it, and only for that path and key", () => {
  const now = Date.now();
  const headers = signedGetHeaders(url, secret, now);
  const ok = request("/trpc/network.memberDirectory", headers);
  const parsed = parseSignatureHeaders(ok, now);
  expect(verifyRequestSignature(ok, parsed, ed25519.getPublicKey(secret))).toHaveLength(32);
  const moved = request("/trpc/network.info", headers);
  expect(() =>
    verifyRequestSignature(moved, parseSignatureHeaders(moved, now), ed25519.getPublicKey(secret)),
  ).toThrow(RelinkError);
  const other = ed25519.getPublicKey(new Uint8Array(32).fill(4));
  expect(() => verifyRequestSignature(ok, parsed, other)).toThrow(RelinkError);
});
