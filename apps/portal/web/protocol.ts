/** Messages between the portal's pages and its crypto worker (web/crypto.worker.ts). Plain data only. */
import type { DebtorMatch, UploadError } from "@relink/sdk/browser";

export type WorkerRequest =
  | { id: number; op: "publish"; csv: string }
  | { id: number; op: "match"; csv: string; purpose: string; caseId: string }
  | { id: number; op: "consents"; csv: string }
  | { id: number; op: "revoke"; references: string[] };

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
  | { op: "revoke"; revoked: number; receipts: unknown[] };

export type WorkerMessage =
  | { id: number; type: "progress"; stage: string; done: number; total: number }
  | { id: number; type: "result"; result: WorkerResult }
  | { id: number; type: "error"; message: string; errors?: UploadError[] };
