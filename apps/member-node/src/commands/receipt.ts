/**
 * `relink receipt verify <file>`: checks a receipt offline against the log key and the witnesses; when the
 * leaf commits to consent-membership proofs (ADR 0050), also re-verifies the proof bundle — given with
 * `--consent-proofs`, or found beside the receipt (`match-N.json` → `match-consent-proofs-N.json`).
 * @relink/zk (snarkjs, ffjavascript: ≈ 200 modules) is imported only when there is a bundle to check.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { verifyReceipt } from "@relink/tlog";
import type { Command } from "commander";
import { UserError } from "../errors.ts";
import { collect, nonNegativeInt } from "./options.ts";

/** The bundle file saved beside a receipt by `relink match --receipts`. */
export function bundleBeside(receiptFile: string): string {
  const name = basename(receiptFile).replace(/^(.+)-(\d+)\.json$/, "$1-consent-proofs-$2.json");
  return join(dirname(receiptFile), name);
}

/** The data category a proven query of this leaf type must have been proved for (ADR 0048). */
const CATEGORY_OF_LEAF: Record<string, string> = { lookup: "contact", "exposure.query": "credit_exposure" };

type ProofVerdict =
  | {
      ok: true;
      proofs: number;
      purpose: string;
      category: string;
      queryTime: number;
      roots: string[];
      message: string;
    }
  | { ok: false; message: string }
  | { ok: "absent"; message: string };

/** Re-verifies the bundle a leaf commits to (`committed`), from `file`. */
async function checkConsentProofs(
  file: string,
  committed: string | undefined,
  member?: string,
  leafType?: string,
): Promise<ProofVerdict> {
  if (!existsSync(file)) {
    return {
      ok: "absent",
      message: `consent proofs: committed in the leaf (${committed}); no bundle at ${file} to check`,
    };
  }
  const { parseBundle, releaseCurve, VERIFICATION_KEY, VKEY_HASH, verifyBundle, ZkError } = await import(
    "@relink/zk"
  );
  try {
    const bundle = parseBundle(readFileSync(file, "utf8"));
    const b = await verifyBundle(VERIFICATION_KEY, VKEY_HASH, bundle);
    if (!b.ok) return { ok: false, message: `consent proofs REJECTED: ${b.reason}: ${b.message}` };
    if (b.commitment !== committed) {
      return {
        ok: false,
        message: `consent proofs REJECTED: bundle commitment ${b.commitment} is not the leaf's ${committed ?? "(none)"}`,
      };
    }
    const want = leafType === undefined ? undefined : CATEGORY_OF_LEAF[leafType];
    if (want !== undefined && bundle.category !== want) {
      return {
        ok: false,
        message: `consent proofs REJECTED: proved for category ${bundle.category}, a ${leafType} leaf reads ${want}`,
      };
    }
    return {
      ok: true,
      proofs: bundle.items.length,
      purpose: bundle.purpose,
      category: bundle.category,
      queryTime: bundle.queryTime,
      roots: b.roots,
      message:
        `consent proofs OK: ${bundle.items.length} Groth16 proof(s) for '${bundle.purpose}' (${bundle.category}) at ` +
        `${new Date(bundle.queryTime).toISOString()}, vkey ${VKEY_HASH}; root(s) ${b.roots.join(", ")} ` +
        `(each must be in a consent.root_committed leaf of member ${member})`,
    };
  } catch (e) {
    if (!(e instanceof ZkError)) throw e;
    return { ok: false, message: `consent proofs REJECTED: malformed bundle: ${e.message}` };
  } finally {
    await releaseCurve(); // snarkjs' curve keeps worker threads that would hold the process open
  }
}

export function register(program: Command): void {
  const receipt = program.command("receipt").description("audit receipts");
  receipt
    .command("verify")
    .description(
      "verify a receipt offline: log signature, k-of-n witness cosignatures, inclusion of the leaf, and the consent proofs it commits to",
    )
    .argument("<file>", "receipt JSON file")
    .requiredOption("--log-key <vkey>", "the log's verifier key (name+id+key)")
    .option("--witness <vkey>", "a trusted witness cosignature key (repeatable)", collect, [])
    .option("--k <n>", "cosignatures required from distinct trusted witnesses", nonNegativeInt)
    .option(
      "--consent-proofs <file>",
      "the consent-proof bundle of this lookup (default: beside the receipt)",
    )
    .option("--json", "print the verdict and the event as JSON")
    .option("--quiet", "print nothing when the receipt verifies")
    .action(
      async (
        file: string,
        opts: {
          logKey: string;
          witness: string[];
          k?: number;
          consentProofs?: string;
          json?: boolean;
          quiet?: boolean;
        },
      ) => {
        let text: string;
        try {
          text = readFileSync(file, "utf8");
        } catch (error) {
          throw new UserError(
            `${file}: ${(error as NodeJS.ErrnoException).code === "ENOENT" ? "no such file" : "cannot read"}`,
          );
        }
        const k = opts.k ?? opts.witness.length;
        const v = verifyReceipt(text, { logKey: opts.logKey, witnesses: opts.witness, k });
        if (!v.ok) {
          if (opts.json) console.log(JSON.stringify({ ok: false, reason: v.reason, message: v.message }));
          console.error(`receipt REJECTED: ${v.reason}: ${v.message}`);
          process.exitCode = 1;
          return;
        }
        const committed = v.event.consentProofsHash;
        const bundleFile = opts.consentProofs ?? (committed ? bundleBeside(file) : undefined);
        const proofs = bundleFile
          ? await checkConsentProofs(bundleFile, committed, v.event.member, v.event.type)
          : undefined;
        if (proofs?.ok === false) {
          console.error(proofs.message);
          process.exitCode = 1;
        }
        if (opts.json) {
          console.log(
            JSON.stringify({
              ok: proofs?.ok !== false,
              index: String(v.index),
              origin: v.checkpoint.origin,
              size: String(v.checkpoint.size),
              cosignatures: v.cosignatures.length,
              event: v.event,
              ...(proofs ? { consentProofs: proofs } : {}),
            }),
          );
          return;
        }
        if (opts.quiet) return;
        console.log(
          `receipt OK: leaf ${v.index} (${v.event.type} at ${new Date(v.event.time).toISOString()}) in ` +
            `${v.checkpoint.origin} size ${v.checkpoint.size}, ${v.cosignatures.length} cosignature(s)`,
        );
        console.log(JSON.stringify(v.event, null, 2));
        if (proofs && proofs.ok !== false) console.log(proofs.message);
      },
    );
}
