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
 *
 * `relink key new --offline`: for a member whose key is lost (or was taken over), so that `key rotate` cannot
 * run (ADR 0037). Without talking to the hub: makes a new key, switches member.json to it (the previous key,
 * if any, goes to retired-keys/ with reason 'lost') and writes a proof file — the new public key and its
 * signature over the re-key statement — that the member hands to the network administrator out of band
 * (`relink admin rekey <member> --proof-file F`). The hub accepts the key once the administrator has re-keyed.
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import {
  ed25519SignerFor,
  fromHex,
  keyFingerprint,
  NONCE_BYTES,
  proveRekeyPossession,
  rekeyProofFileOf,
  slug as slugSchema,
  toBase64Url,
  toHex,
} from "@relink/protocol";
import { createHubClient, ed25519Signer, rotateSigningKey, wireError } from "@relink/sdk";
import type { Command } from "commander";
import { EXIT, UserError } from "../errors.ts";
import {
  completeKeyRotation,
  discardPendingKey,
  readHome,
  readPendingKey,
  stagePendingKey,
} from "../home.ts";
import { writeFileAtomic } from "./options.ts";
import {
  type CommonFlags,
  checkReceipts,
  common,
  context,
  hubKnowsKey,
  hubUrlOf,
  run,
  saveReceipts,
} from "./shared.ts";

const fingerprintOf = (secretKey: Uint8Array) =>
  toBase64Url(keyFingerprint("ed25519", ed25519.getPublicKey(secretKey)));

export function register(program: Command): void {
  const key = program.command("key").description("this member node's request-signing key");

  common(key.command("rotate"), { errors: false })
    .description(
      "replace the request-signing key: a new key is made here, the hub switches to it at once and refuses " +
        "the old one (kept as a backup in retired-keys/); key holders follow within about a second (ADR 0038)",
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
          const known = await hubKnowsKey(() =>
            createHubClient({ url: hubUrl, signer: ed25519Signer(pending) }).network.whoami.query(),
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
            `the hub refuses the old key from now on; key holders within about a second\n` +
            `old key kept in ${backup}\n${result.receipts}`,
        );
      }),
    );

  common(key.command("new"), { errors: false, receipts: false })
    .description(
      "make a new request-signing key offline when the current one is lost: writes a proof file for the " +
        "network administrator (`relink admin rekey`); the hub accepts the key once the administrator re-keyed",
    )
    .option(
      "--offline",
      "required: the key is made without the hub (a key you still hold: `relink key rotate`)",
    )
    .requiredOption("--member <slug>", "this member's slug, as the network knows it")
    .requiredOption("--network-id <id>", "the network's id (network.json, or `relink` output of the network)")
    .requiredOption("--out <file>", "where to write the proof file (public data) for the administrator")
    .action(
      run(
        async (
          flags: CommonFlags & { offline?: boolean; member: string; networkId: string; out: string },
        ) => {
          if (!flags.offline) {
            throw new UserError(
              "only --offline is supported: to replace a key you still hold, use 'relink key rotate'",
              EXIT.usage,
            );
          }
          if (!slugSchema.safeParse(flags.member).success) {
            throw new UserError(
              `--member '${flags.member}': lower-case letters, digits and dashes`,
              EXIT.usage,
            );
          }
          if (flags.networkId.length === 0 || flags.networkId.length > 200) {
            throw new UserError("--network-id: 1 to 200 characters", EXIT.usage);
          }
          const ctx = context(flags);
          readHome(ctx.home); // a home must exist (after a lost machine: `relink init` first)
          const next = ed25519.utils.randomSecretKey();
          const signer = ed25519SignerFor(next);
          const statement = {
            networkId: flags.networkId,
            member: flags.member,
            newPublicKey: signer.publicKey,
            timestampMs: Date.now(),
            nonce: crypto.getRandomValues(new Uint8Array(NONCE_BYTES)),
          };
          const file = rekeyProofFileOf(statement, proveRekeyPossession(signer, statement));
          // The proof file first: if writing it fails, member.json still holds the key it held.
          writeFileAtomic(flags.out, `${JSON.stringify(file, null, 2)}\n`);
          const backup = completeKeyRotation(ctx.home, next, new Date(statement.timestampMs), "lost");
          const result = {
            member: flags.member,
            networkId: flags.networkId,
            publicKey: file.newPublicKey,
            fingerprint: toBase64Url(keyFingerprint("ed25519", signer.publicKey)),
            proofFile: flags.out,
            backup,
          };
          ctx.emit(
            result,
            () =>
              `new signing key ${result.fingerprint} in member.json (the previous one kept in ${backup})\n` +
              `hand ${flags.out} to the network administrator: relink admin rekey ${flags.member} --proof-file ${flags.out}\n` +
              "the hub accepts the new key once the administrator has re-keyed",
          );
        },
      ),
    );
}
