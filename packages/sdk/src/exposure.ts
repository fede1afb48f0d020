/**
 * Cross-lender exposure, member side (docs/protocol/exposure-he.md §2–§5 and "Member side"), in three
 * modules re-exported here so imports of `./exposure.ts` keep working:
 * - exposure-lender.ts: registering the book's tags, answering the hub's tasks (masks, encryption), the
 *   serve loop;
 * - exposure-querier.ts: fresh HE keys per query, consent proofs, decryption and decoding;
 * - exposure-common.ts: presets, constants, result types, ExposureError.
 */
export * from "./exposure-common.ts";
export * from "./exposure-lender.ts";
export * from "./exposure-querier.ts";
