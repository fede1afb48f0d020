/**
 * Messages between the portal's pages and its crypto worker (web/crypto.worker.ts). Plain data only; CSV
 * files travel as their bytes, read in the worker by the SDK's CSV reader (the CLI's).
 */
import type { ConsentReplay, ContactConduct, SubjectReport } from "@relink/protocol";
import type { DebtorMatch, UploadError } from "@relink/sdk/browser";
import type { AggregatePresentation, ExposureStatus, ExposureTotals } from "@relink/sdk/browser-exposure";

/** One applicant's answer, by the querier's own reference (never the identifier). */
export interface ExposureRow {
  row: number;
  ref: string;
  status: ExposureStatus | "missing";
  features?: ExposureTotals;
}

export type WorkerRequest =
  | { id: number; op: "publish"; csv: Uint8Array }
  | { id: number; op: "match"; csv: Uint8Array; purpose: string; caseId: string }
  | { id: number; op: "consents"; csv: Uint8Array }
  | { id: number; op: "revoke"; references: string[] }
  // The member admin replaces the member's request-signing key (ADR 0068): the new key is made in the worker.
  | { id: number; op: "rotate-key" }
  // A member DPO replaces its own key (ADR 0037): the new key is made in the worker, like the member's.
  | { id: number; op: "rotate-dpo-key" }
  | {
      id: number;
      op: "exposure";
      csv: Uint8Array;
      mode: "subjects" | "aggregate";
      purpose: string;
      caseId: string;
      refColumn: string;
    }
  // DPO work (ADR 0063): tags through the key holders with the member key, requests signed with the DPO key.
  | { id: number; op: "dpo-report"; subject: SubjectIdentifiers; requestReference: string; logKey: string }
  | { id: number; op: "dpo-verify"; reportJson: string; tags: string[]; logKey: string }
  | { id: number; op: "dpo-replay"; index: number; logKey: string }
  | { id: number; op: "dpo-export"; from: number; to?: number; pipiaReference: string; logKey: string }
  // The network's registries (ADR 0036), with the network-owned member's key: honeytokens are published and
  // tagged, opt-outs tagged; the page registers the tags with a session call. Every row or nothing (the CLI's).
  | { id: number; op: "honeytokens"; csv: Uint8Array }
  | { id: number; op: "opt-out-tags"; csv: Uint8Array }
  | { id: number; op: "opt-out-tags"; subject: SubjectIdentifiers };

/** What the DPO types about the subject (never sent: normalised and turned into tags in the worker). */
export interface SubjectIdentifiers {
  idNumber: string;
  phone: string;
  name: string;
  dob: string;
}

/** A report checked in this browser: `problems` empty exactly when every entry verified. */
export interface ReportCheck {
  report: SubjectReport;
  /** The subject's tags (base64url): pseudonyms, kept to re-check a report file later. */
  tags: string[];
  verified: boolean;
  problems: { entry: number | "report"; reason: string }[];
}

export type WorkerResult =
  | {
      op: "publish";
      rows: number;
      records: number;
      batches: number;
      errors: UploadError[];
      receipts: unknown[];
    }
  | {
      op: "match";
      rows: number;
      matches: DebtorMatch[];
      /** The hub's contact conduct rules (GB/T 45251): the no-contact window every contact carries. */
      conduct: ContactConduct;
      errors: UploadError[];
      receipts: unknown[];
      /** The commitment to the case id the audit leaves carry (base64url); for the case register. */
      caseCommitment: string | null;
    }
  | { op: "consents"; rows: number; registered: number; errors: UploadError[]; receipts: unknown[] }
  | { op: "revoke"; revoked: number; receipts: unknown[] }
  | {
      op: "rotate-key" | "rotate-dpo-key";
      oldFingerprint: string;
      newFingerprint: string;
      rotatedAt: string;
      /**
       * The new key's file, to download (the only copy of the new seed): member.json for the member's key,
       * the one-line hex file of `relink dpo keygen` for a DPO key.
       */
      keyFile: string;
      /** False when the hub rotated but this browser could not store the new key: import the key file. */
      stored: boolean;
      receipts: unknown[];
    }
  | {
      op: "exposure";
      mode: "subjects" | "aggregate";
      rows: number;
      errors: UploadError[];
      invited: number;
      responded: number;
      rounds: number;
      cached: boolean;
      k: number | null;
      decrypted: boolean;
      /** Why the answer could not be decrypted (a cached answer under a key this browser no longer holds). */
      undecryptable: string | null;
      results: ExposureRow[];
      aggregate: AggregatePresentation | null;
      receipts: unknown[];
    }
  | {
      op: "honeytokens";
      rows: number;
      /** Contact records published from the network-owned member (sealed labels, as any publisher's). */
      records: number;
      epoch: number;
      /** The identities' tags (base64url), to register as honeytokens; empty when the file was refused. */
      tags: string[];
      errors: UploadError[];
      receipts: unknown[];
    }
  | {
      op: "opt-out-tags";
      rows: number;
      subjects: number;
      epoch: number;
      tags: string[];
      errors: UploadError[];
    }
  | { op: "dpo-report"; errors: UploadError[]; check: ReportCheck | null }
  | ({ op: "dpo-verify" } & ReportCheck)
  | {
      op: "dpo-replay";
      replay: Omit<ConsentReplay, "receipt">;
      /** Null when the receipt verified and is the leaf asked about; else why not. */
      receiptProblem: string | null;
    }
  | {
      op: "dpo-export";
      name: string;
      archive: Uint8Array;
      signerPublicKey: string;
      leaves: number;
      from: number;
      to: number;
    };

export type WorkerMessage =
  | { id: number; type: "progress"; stage: string; done: number; total: number }
  | { id: number; type: "result"; result: WorkerResult }
  | { id: number; type: "error"; message: string; errors?: UploadError[] };
