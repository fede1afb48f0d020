/**
 * `relink key rotate`: replaces this member's request-signing key (ADR 0068). The new key is made here and
 * never leaves the machine; the hub gets its public half and its signature over the key-rotation statement,
 * in a request signed with the current key. Order of work, each step safe to redo after a crash:
 *   1. the new key is staged in signing-key.pending.json (0600) — before the hub is asked;
 *   2. the hub rotates (one transaction: old key revoked, new key active, audit leaf);
 *   3. the old key is kept in retired-keys/<fingerprint>.json (0600), member.json is replaced atomically with
 *      the new key, and the staged copy is removed.
 * A staged key found at the start means an earlier run was interrupted: if the hub already knows that key
 * the local replacement is finished; if it refuses it (UNKNOWN_KEY) the staged key is discarded and a fresh
 * rotation starts.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { ed25519SignerFor, fromHex, keyFingerprint, toBase64Url, toHex } from "@relink/protocol";
import { createHubClient, ed25519Signer, rotateSigningKey, wireError } from "@relink/sdk";
import type { Command } from "commander";
import { UserError } from "../errors.ts";
import {
  completeKeyRotation,
  discardPendingKey,
  readHome,
  readPendingKey,
  stagePendingKey,
} from "../home.ts";
import { type CommonFlags, checkReceipts, common, context, hubUrlOf, run, saveReceipts } from "./shared.ts";

const fingerprintOf = (secretKey: Uint8Array) =>
  toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(secretKey)));

export function register(program: Command): void {
  const key = program.command("key").description("this member node's request-signing key");

  common(key.command("rotate"), { errors: false })
    .description(
      "replace the request-signing key: a new key is made here, the hub switches to it at once and refuses " +
        "the old one (kept as a backup in retired-keys/); key holders follow within their directory TTL",
    )
    .action(
      run(async (flags: CommonFlags) => {
        const ctx = context(flags);
        const home = readHome(ctx.home);
        const hubUrl = hubUrlOf(ctx, home.hubUrl);
        const current = fromHex(home.signingSecretKey);

        // An interrupted rotation first.
        const pending = readPendingKey(ctx.home);
        if (pending && toHex(pending) === home.signingSecretKey) {
          discardPendingKey(ctx.home); // member.json already holds it: only the clean-up was left
        } else if (pending) {
          const known = await createHubClient({ url: hubUrl, signer: ed25519Signer(pending) })
            .network.whoami.query()
            .then(
              () => true,
              (error: unknown) => {
                if (wireError(error)?.code === "UNKNOWN_KEY") return false;
                throw error;
              },
            );
          if (known) {
            const backup = completeKeyRotation(ctx.home, pending, new Date());
            const result = {
              resumed: true,
              oldFingerprint: fingerprintOf(current),
              newFingerprint: fingerprintOf(pending),
              publicKey: toBase64Url(ed25519.getPublicKey(pending)),
              backup,
            };
            ctx.emit(
              result,
              () =>
                `finished an interrupted rotation: the hub already had the new key ${result.newFingerprint}\n` +
                `old key kept in ${backup}`,
            );
            return;
          }
          discardPendingKey(ctx.home);
        }

        const next = ed25519.utils.randomSecretKey();
        stagePendingKey(ctx.home, next);
        const signer = ed25519Signer(current);
        let rotated: Awaited<ReturnType<typeof rotateSigningKey>>;
        try {
          rotated = await rotateSigningKey(createHubClient({ url: hubUrl, signer }), {
            currentFingerprint: signer.fingerprint,
            newKey: ed25519SignerFor(next),
          });
        } catch (error) {
          // The hub answered: nothing changed there, so the staged key goes. No answer: it may have rotated.
          if (wireError(error)) discardPendingKey(ctx.home);
          else
            throw new UserError(
              `${(error as Error).message}; the hub may or may not have switched keys — the new key is kept in ` +
                "signing-key.pending.json: run 'relink key rotate' again to finish or start over",
            );
          throw error;
        }
        const backup = completeKeyRotation(ctx.home, next, new Date(rotated.rotatedAt));
        const saved = saveReceipts(ctx.receipts, "key-rotate", [rotated.receipt]);
        const result = {
          resumed: false,
          memberId: rotated.memberId,
          oldFingerprint: rotated.oldFingerprint,
          newFingerprint: rotated.newFingerprint,
          publicKey: toBase64Url(ed25519.getPublicKey(next)),
          rotatedAt: rotated.rotatedAt,
          backup,
          receipts: checkReceipts([rotated.receipt], home.logKey, ctx.home),
          receiptFiles: saved,
        };
        ctx.emit(
          result,
          () =>
            `signing key rotated at ${result.rotatedAt}: ${result.oldFingerprint} → ${result.newFingerprint}\n` +
            `the hub refuses the old key from now on; key holders within their directory TTL\n` +
            `old key kept in ${backup}\n${result.receipts}`,
        );
      }),
    );
}
