import { type Database, type Db, readAuditNodes } from "@relink/db";
import type { NodeReader, SignerKey, VerifierKey } from "@relink/tlog";
import type { Kysely, Transaction } from "kysely";

import type { CosignRequester } from "./witness-client.ts";

export interface WitnessEndpoint {
  /** The witness's cosignature verifier key (type 0x04). */
  key: VerifierKey;
  /** Its submission prefix; the request goes to `<url>/add-checkpoint`. */
  url: string;
}

export interface AuditLogger {
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
}

export interface AuditLogDeps {
  db: Kysely<Database>;
  /** The log's Ed25519 signer key (type 0x01); its name is the checkpoint origin. */
  signer: SignerKey;
  witnesses: readonly WitnessEndpoint[];
  requestCosignature: CosignRequester;
  clock: () => Date;
  log: AuditLogger;
}

export const nodeReader =
  (db: Db): NodeReader =>
  (ids) =>
    readAuditNodes(db, ids);

export async function inTransaction<T>(db: Db, fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? fn(db as Transaction<Database>) : db.transaction().execute(fn);
}
