/**
 * What the hub and a key holder answer to a request signed by a given key — for the end-to-end tests of key
 * rotation, re-keying and revocation (ADRs 0068, 0037, 0038). Real signed requests over HTTP, as the SDK
 * makes them; nothing is stubbed.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fromHex, keyHolderAudience } from "@relink/protocol";
import { ed25519Signer, hubAudienceOf, signedFetch } from "@relink/sdk";

/** The request-signing secret key in a member home's member.json. */
export function memberSecretKey(homeDir: string): Uint8Array {
  const home = JSON.parse(readFileSync(join(homeDir, "member.json"), "utf8")) as { signingSecretKey: string };
  return fromHex(home.signingSecretKey);
}

/** The wire code of the hub's answer to a GET of `procedure` signed by `secret`, or "ok". */
export async function hubSays(
  hubUrl: string,
  secret: Uint8Array,
  procedure = "network.whoami",
): Promise<string> {
  const f = signedFetch(ed25519Signer(secret), { audience: hubAudienceOf(hubUrl) });
  const res = await f(`${hubUrl}/trpc/${procedure}`, { method: "GET" });
  const body = (await res.json()) as { error?: { data: { relink: { code: string } } } };
  return res.ok ? "ok" : body.error!.data.relink.code;
}

/**
 * Key holder `index`'s answer to an evaluation signed by `secret` with an empty body: BAD_INPUT means the key
 * was accepted (authentication and the member's status come before the body), UNKNOWN_KEY that it is not
 * listed, MEMBER_SUSPENDED that its member is suspended.
 */
export async function holderSays(
  holderUrl: string,
  networkId: string,
  index: number,
  secret: Uint8Array,
): Promise<string> {
  const f = signedFetch(ed25519Signer(secret), { audience: () => keyHolderAudience(networkId, index) });
  const res = await f(`${holderUrl}/v1/evaluate`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: "{}",
  });
  return ((await res.json()) as { error: { code: string } }).error.code;
}

/** Asks holder `index` until it answers `code` or `deadline` (epoch ms) passes; returns its last answer. */
export async function untilHolderSays(
  holderUrl: string,
  networkId: string,
  index: number,
  secret: Uint8Array,
  code: string,
  deadline: number,
): Promise<string> {
  let got = await holderSays(holderUrl, networkId, index, secret);
  while (got !== code && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
    got = await holderSays(holderUrl, networkId, index, secret);
  }
  return got;
}
