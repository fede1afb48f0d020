/**
 * The columns of every member upload and download: canonical (English, snake_case) names, the Chinese and
 * English spellings accepted for them, and the Chinese header written with `lang: "zh"`. Reading and
 * writing share this table, so a file this node writes in either language reads back unchanged, and CSV
 * and JSON use the same (canonical) field names.
 */
import type { ContactConduct } from "@relink/protocol";
import type { ColumnSpec, OutColumn, TableSpec } from "./csv.ts";
import type { DebtorMatch } from "./node.ts";

interface Column extends ColumnSpec {
  /** Header written for Chinese output (also accepted on input). */
  zh: string;
}

const C: Record<string, Column> = {
  // Subject identifiers.
  id_number: {
    zh: "身份证号",
    aliases: [
      "身份证号码",
      "证件号码",
      "证件号",
      "身份证",
      "公民身份号码",
      "id",
      "id_no",
      "resident_id",
      "id_card",
    ],
    identifier: true,
  },
  subject_phone: {
    zh: "手机号",
    aliases: ["手机号码", "手机", "电话", "电话号码", "联系电话", "mobile", "phone_number", "subject_mobile"],
    identifier: true,
  },
  name: { zh: "姓名", aliases: ["客户姓名", "借款人姓名", "full_name"], with: ["dob"] },
  dob: { zh: "出生日期", aliases: ["生日", "date_of_birth", "birth_date", "birthday"], with: ["name"] },
  debtor_ref: {
    zh: "参考号",
    aliases: ["客户编号", "案件编号", "案件号", "债务人编号", "reference", "ref", "customer_ref", "case_ref"],
  },
  // Contact books: long form (kind + value) and wide form (one column per kind).
  kind: { zh: "类型", aliases: ["联系方式类型", "contact_kind"] },
  value: { zh: "联系方式", aliases: ["值", "内容", "contact_value"] },
  phone: { zh: "新电话", aliases: ["新手机号", "联系号码", "contact_phone"], identifier: true },
  address: { zh: "地址", aliases: ["住址", "家庭住址", "联系地址", "通讯地址", "contact_address"] },
  email: { zh: "邮箱", aliases: ["电子邮箱", "电子邮件", "e_mail", "contact_email"] },
  employer: { zh: "工作单位", aliases: ["单位", "单位名称", "雇主", "contact_employer"] },
  first_seen: { zh: "首次出现", aliases: ["首次出现日期", "首次发现日期", "first_seen_on"] },
  last_seen: { zh: "最近出现", aliases: ["最近出现日期", "最近发现日期", "last_seen_on"] },
  source_type: { zh: "来源", aliases: ["来源类型", "source"] },
  confidence: { zh: "置信度", aliases: ["可信度"] },
  no_contact_window: { zh: "禁止联系时段", aliases: ["no_contact"] },
  // Consents.
  purpose: { zh: "用途", aliases: ["目的", "查询用途"] },
  legal_basis: { zh: "法律依据", aliases: ["合法性基础", "basis"] },
  categories: { zh: "数据类别", aliases: ["类别", "data_categories"] },
  granted_at: { zh: "授权日期", aliases: ["授权时间", "granted", "granted_on"] },
  expires_at: { zh: "到期日期", aliases: ["失效日期", "到期时间", "expires", "expires_on"] },
  evidence_sha256: { zh: "凭证哈希", aliases: ["证据哈希", "授权凭证哈希", "evidence_hash", "sha256"] },
  // Exposure books and applicants.
  loan_id: { zh: "借据号", aliases: ["贷款编号", "合同号", "loan", "loan_no"] },
  status: { zh: "状态", aliases: ["贷款状态", "loan_status"] },
  outstanding: { zh: "未偿余额", aliases: ["贷款余额", "余额", "balance", "outstanding_cny"] },
  days_past_due: { zh: "逾期天数", aliases: ["dpd", "overdue_days"] },
  opened_on: { zh: "放款日期", aliases: ["开户日期", "发放日期", "opened", "open_date"] },
  applicant_ref: { zh: "申请编号", aliases: ["申请人编号", "申请号", "applicant", "application_ref"] },
  // Output only.
  corroborating_members: { zh: "佐证机构数", aliases: [] },
  feature: { zh: "指标", aliases: [] },
  total: { zh: "合计", aliases: [] },
  unit: { zh: "计量单位", aliases: [] },
  noise_scale: { zh: "噪声尺度", aliases: [] },
  ci95_low: { zh: "95%区间下限", aliases: [] },
  ci95_high: { zh: "95%区间上限", aliases: [] },
  row: { zh: "行号", aliases: [] },
  field: { zh: "列", aliases: [] },
  reason: { zh: "原因", aliases: [] },
  message: { zh: "说明", aliases: [] },
};

export type Lang = "en" | "zh";

function specOf(
  names: readonly string[],
  required: readonly string[],
  extra: Record<string, ColumnSpec> = {},
) {
  const columns: Record<string, ColumnSpec> = {};
  for (const n of names) {
    const c = C[n]!;
    columns[n] = {
      aliases: [c.zh, ...(c.aliases ?? [])],
      ...(c.identifier ? { identifier: true } : {}),
      ...(c.with ? { with: c.with } : {}),
      ...(required.includes(n) ? { required: true } : {}),
    };
  }
  return { ...columns, ...extra };
}

const SUBJECT = ["id_number", "subject_phone", "name", "dob"] as const;
const ANY_SUBJECT = [["id_number"], ["subject_phone"], ["name", "dob"]] as const;

/** Contact book: subject identifiers plus kind + value and/or the wide columns phone, address, email, employer. */
const contactColumns = specOf(
  [
    ...SUBJECT,
    "kind",
    "value",
    "phone",
    "address",
    "email",
    "employer",
    "first_seen",
    "last_seen",
    "source_type",
    "confidence",
  ],
  ["first_seen", "last_seen"],
);
export const CONTACT_TABLE: TableSpec = {
  columns: {
    ...contactColumns,
    kind: { ...contactColumns["kind"], with: ["value"] },
    value: { ...contactColumns["value"], with: ["kind"] },
  },
  oneOf: ANY_SUBJECT,
};

export const DEBTOR_TABLE: TableSpec = {
  columns: specOf(["debtor_ref", ...SUBJECT], ["debtor_ref"]),
  oneOf: ANY_SUBJECT,
};

export const CONSENT_TABLE: TableSpec = {
  columns: specOf(
    [
      "debtor_ref",
      ...SUBJECT,
      "purpose",
      "legal_basis",
      "categories",
      "granted_at",
      "expires_at",
      "evidence_sha256",
    ],
    ["debtor_ref", "purpose", "legal_basis", "granted_at", "expires_at", "evidence_sha256"],
  ),
  oneOf: ANY_SUBJECT,
};

export const EXPOSURE_BOOK_TABLE: TableSpec = {
  columns: specOf(
    ["id_number", "loan_id", "status", "outstanding", "days_past_due", "opened_on"],
    ["id_number", "loan_id", "status", "outstanding", "days_past_due", "opened_on"],
  ),
};

/** Applicants or a portfolio: id_number and a reference column (applicant_ref unless named otherwise). */
export function exposureSubjectsTable(refColumn = "applicant_ref", requireRef = true): TableSpec {
  const ref: ColumnSpec =
    refColumn === "applicant_ref"
      ? specOf(["applicant_ref"], requireRef ? ["applicant_ref"] : [])["applicant_ref"]!
      : { aliases: [], ...(requireRef ? { required: true } : {}) };
  return { columns: { ...specOf(["id_number"], ["id_number"]), [refColumn]: ref } };
}

/** Output columns in the chosen language; keys stay canonical (the JSON field names). */
export function outColumns(keys: readonly string[], lang: Lang = "en"): OutColumn[] {
  return keys.map((key) => ({ key, header: lang === "zh" ? (C[key]?.zh ?? key) : key }));
}

/** The match results' CSV columns (CLI and portal); the JSON output uses the same field names. */
export const MATCH_COLUMNS = [
  "debtor_ref",
  "status",
  "kind",
  "value",
  "first_seen",
  "last_seen",
  "corroborating_members",
  "confidence",
  "source_type",
  /** GB/T 45251: when no contact may be made, e.g. `22:00-08:00 UTC+08:00` (from the hub's `conduct`). */
  "no_contact_window",
] as const;

/**
 * Match results under MATCH_COLUMNS' names: one entry per debtor with its contacts (the JSON), and `flat`,
 * one row per contact or per debtor without one (the CSV). Every contact carries the window in which the
 * hub's conduct rules forbid contact (GB/T 45251), for the dialler.
 */
export function matchRows(results: readonly DebtorMatch[], conduct: ContactConduct) {
  const window = `${conduct.noContactFrom}-${conduct.noContactUntil} UTC${conduct.utcOffset}`;
  const nested = results.map((d) => ({
    debtor_ref: d.ref,
    row: d.row,
    status: d.status,
    contacts: d.contacts.map((c) => ({
      kind: c.kind,
      value: c.value,
      first_seen: c.firstSeen,
      last_seen: c.lastSeen,
      corroborating_members: c.corroboration,
      confidence: c.confidence,
      source_type: c.sourceType,
      no_contact_window: window,
    })),
  }));
  const flat = nested.flatMap((d) =>
    d.contacts.length === 0
      ? [{ debtor_ref: d.debtor_ref, status: d.status }]
      : d.contacts.map((c) => ({ debtor_ref: d.debtor_ref, status: d.status, ...c })),
  );
  return { nested, flat };
}
