/**
 * The exposure querier for browsers (the portal's Web Worker): a separate entry from `./browser`, so the
 * worker loads node-seal's WASM only when an exposure query runs. Browser-safe: the querier (node-seal,
 * loaded by the caller with `loadHe({ locateFile: null })` so the bundler serves the `.wasm`), the signed
 * exposure client over `fetch`, the subjects parser and the aggregate presentation — no Node built-ins.
 */

export {
  DEFAULT_EXPOSURE_PRESET,
  ExposureError,
  type ExposureQueryResult,
  type ExposureStatus,
  type ExposureSubjectResult,
  type ExposureTotals,
  HE_KEY_RETENTION_MS,
  type HeKeyStore,
  queryExposure,
} from "./exposure.ts";
export { type ExposureSubjectRow, parseExposureSubjects } from "./exposure-book.ts";
export { createExposureClient, type ExposureClient, ExposureClientError } from "./exposure-client.ts";
export { type AggregatePresentation, FEATURE_UNITS, presentAggregate } from "./exposure-present.ts";
