/**
 * Helpers every member command shares: reporting rejected rows, verifying receipts, the purpose option and
 * turning hub / key-holder errors into one clear line with exit code 1.
 */
import { PURPOSES, type Purpose } from "@relink/protocol";
import { type UploadError, wireError } from "@relink/sdk";
import { verifyReceipt } from "@relink/tlog";
import { InvalidArgumentError } from "commander";
import { writeCsv } from "../csv.ts";
import { keepReceipts, readHome } from "../home.ts";

/** Lists rejected cells on stderr (and in `errorsFile`); exit code 3 marks "done, some rows rejected". */
export function reportRejected(errors: UploadError[], opts: { errors?: string }): void {
  if (errors.length === 0) return;
  for (const e of errors.slice(0, 50)) console.error(`row ${e.row}, ${e.field}: ${e.reason}: ${e.message}`);
  if (errors.length > 50) console.error(`… and ${errors.length - 50} more rejected cells`);
  if (opts.errors)
    writeCsv(
      opts.errors,
      ["row", "field", "reason", "message"],
      errors.map((e) => ({ ...e })),
    );
  process.exitCode = 3;
}

/**
 * Verifies every receipt against the pinned log key and the home's trusted witnesses (k of them), keeps the
 * verified ones in the member home (receipts/), and returns a one-line summary with the fewest witness
 * cosignatures any receipt carried.
 */
export function checkReceipts(receipts: unknown[], logKey: string | undefined, home?: string): string {
  if (!logKey) return `${receipts.length} receipt(s) (no log key pinned: not verified)`;
  const config = home ? readHome(home) : undefined;
  const witnesses = config?.witnessKeys ?? [];
  const k = config?.witnessK ?? 0;
  let ok = 0;
  let fewest: number | undefined;
  const verified: unknown[] = [];
  for (const r of receipts) {
    const v = verifyReceipt(r, { logKey, witnesses, k });
    if (v.ok) {
      ok++;
      verified.push(r);
      fewest = Math.min(fewest ?? Number.POSITIVE_INFINITY, v.cosignatures.length);
    } else console.error(`receipt REJECTED: ${v.reason}: ${v.message}`);
  }
  if (home && verified.length > 0) keepReceipts(home, verified);
  if (ok !== receipts.length) process.exitCode = 1;
  const cosigned =
    witnesses.length > 0 && fewest !== undefined ? `, ≥ ${fewest} witness cosignature(s) each` : "";
  return `${ok}/${receipts.length} receipt(s) verified${cosigned}${home && ok > 0 ? " and kept" : ""}`;
}

export function purposeOption(value: string): Purpose {
  if (!(PURPOSES as readonly string[]).includes(value)) {
    throw new InvalidArgumentError(`one of ${PURPOSES.join(", ")}`);
  }
  return value as Purpose;
}

/** Runs an action, turning hub and key-holder errors into one clear line and exit code 1. */
export function run<A extends unknown[]>(f: (...args: A) => Promise<void>) {
  return async (...args: A) => {
    try {
      await f(...args);
    } catch (error) {
      const wire = wireError(error) ?? (error as { wire?: { code: string; message: string } }).wire;
      const code = wire?.code ?? (error as { code?: string }).code;
      console.error(`relink: ${code ? `${code}: ` : ""}${wire?.message ?? (error as Error).message}`);
      process.exitCode = 1;
    }
  };
}
