/**
 * Messages between the portal's pages and its crypto worker (web/crypto.worker.ts). Plain data only; CSV
 * files travel as their bytes, read in the worker by the SDK's CSV reader (the CLI's).
 */
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
  | {
      id: number;
      op: "exposure";
      csv: Uint8Array;
      mode: "subjects" | "aggregate";
      purpose: string;
      caseId: string;
      refColumn: string;
    };

export type WorkerResult =
  | {
      op: "publish";
      rows: number;
      records: number;
      batches: number;
      errors: UploadError[];
      receipts: unknown[];
    }
  | { op: "match"; rows: number; matches: DebtorMatch[]; errors: UploadError[]; receipts: unknown[] }
  | { op: "consents"; rows: number; registered: number; errors: UploadError[]; receipts: unknown[] }
  | { op: "revoke"; revoked: number; receipts: unknown[] }
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
    };

export type WorkerMessage =
  | { id: number; type: "progress"; stage: string; done: number; total: number }
  | { id: number; type: "result"; result: WorkerResult }
  | { id: number; type: "error"; message: string; errors?: UploadError[] };
