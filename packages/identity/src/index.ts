/**
 * @relink/identity — parse and normalise identifiers into typed canonical strings before they are hashed
 * (docs/protocol/identifiers.md). Pure: no I/O, no environment, time passed in as `now`.
 */
export {
  type BatchOptions,
  type BatchResult,
  type ColumnSpec,
  type Identifier,
  type ParsedRow,
  parseRows,
  type RowError,
  type RowSpec,
  type SingleColumnKind,
} from "./batch.ts";
export { type CnId, type CnIdOptions, cnIdCheckCharacter, PROVINCE_CODES, parseCnId } from "./cn-id.ts";
export { MIN_BIRTH_DATE } from "./date.ts";
export { type Email, type EmailOptions, parseEmail } from "./email.ts";
export { MAX_NAME_LENGTH, type NameDob, type NameDobOptions, parseNameDob } from "./name-dob.ts";
export { type CountryCode, type Phone, type PhoneLineType, type PhoneOptions, parsePhone } from "./phone.ts";
export type { IdentifierError, IdentifierKind, ParseResult, ReasonCode } from "./result.ts";
