/**
 * Renders a verified subject access report (PIPL Art. 45) for people: CSV for spreadsheets, a printable
 * bilingual (中文 / English) HTML page, and the JSON as received. Case references are resolved from the
 * member's own case register (cases.jsonl in the member home): the hub only ever saw their commitments.
 * The CSV is written by the SDK's one Excel-safe writer (`formatCsv`: UTF-8 BOM, formula cells neutralised
 * per OWASP, digit strings kept as text); indices and counts are numbers.
 */
import type { SubjectReport } from "@relink/protocol";
import { REPORT_COLUMNS, type ReportRow } from "@relink/sdk";

/** The rows and their CSV (shared with the portal, packages/sdk dpo.ts). */
export { reportCsv, reportRows } from "@relink/sdk";

const COLUMNS = REPORT_COLUMNS;
type Row = ReportRow;

const esc = (s: string) =>
  s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");

const HEADINGS: Record<(typeof COLUMNS)[number], string> = {
  leaf_index: "日志序号<br>Leaf",
  time_utc8: "时间 (UTC+8)<br>Time",
  event: "事件<br>Event",
  member: "机构<br>Member",
  member_name: "机构名称<br>Member name",
  purpose: "目的<br>Purpose",
  legal_basis: "法律依据<br>Legal basis",
  case_reference: "案件编号<br>Case",
  case_commitment: "案件承诺值<br>Case commitment",
  consent_references: "同意记录<br>Consent references",
  decision: "决定<br>Decision",
  decision_reason: "原因<br>Reason",
  subjects_in_request: "请求人数<br>Subjects in request",
  results_returned: "返回结果数<br>Results",
  receipt_verified: "回执已验证<br>Receipt verified",
};

export function reportHtml(report: SubjectReport, rows: readonly Row[], verified: boolean): string {
  const scope =
    report.scope.kind === "member" ? `机构 Member: ${esc(report.scope.slug)}` : "全网 Network-wide";
  const body = rows
    .map(
      (r) =>
        `<tr>${COLUMNS.filter((c) => c !== "case_commitment")
          .map((c) => `<td>${esc(r[c])}</td>`)
          .join("")}</tr>`,
    )
    .join("\n");
  return `<!doctype html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<title>个人信息查阅报告 Subject access report — ${esc(report.requestReference)}</title>
<style>
  body { font-family: "Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif; margin: 2em; }
  table { border-collapse: collapse; width: 100%; font-size: 0.85em; }
  th, td { border: 1px solid #888; padding: 0.3em 0.5em; vertical-align: top; }
  th { background: #eee; }
  .bad { color: #b00; font-weight: bold; }
  @media print { body { margin: 0.5cm; } }
</style>
</head>
<body>
<h1>个人信息查阅报告<br><small>Subject access report (《个人信息保护法》第四十五条 / PIPL Art. 45)</small></h1>
<p>请求编号 Request: <b>${esc(report.requestReference)}</b> · 范围 Scope: ${scope} ·
生成时间 Generated: ${esc(report.generatedAt)} · 记录数 Entries: ${report.entries.length}</p>
<p class="${verified ? "" : "bad"}">${
    verified
      ? "每条记录的回执均已离线验证（日志签名、包含证明、主体承诺）。Every entry's receipt was verified offline (log signature, inclusion proof, subject commitment)."
      : "验证失败：本报告不可信。VERIFICATION FAILED: do not rely on this report."
  }</p>
<table>
<thead><tr>${COLUMNS.filter((c) => c !== "case_commitment")
    .map((c) => `<th>${HEADINGS[c]}</th>`)
    .join("")}</tr></thead>
<tbody>
${body}
</tbody>
</table>
<p><small>时间均为中国标准时间 (UTC+8)。Times are China Standard Time (UTC+8). 机构名称由网络提供；日志只含机构编号。
Member names come from the network's directory; the log itself names members by id.</small></p>
</body>
</html>
`;
}
