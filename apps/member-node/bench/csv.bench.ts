/**
 * `npm run bench -- csv [--rows N]`: the member-node's CSV reader (packages/sdk/src/csv.ts: encoding
 * detection, RFC 4180 parsing, header aliases, per-cell checks) on a debtor file of N rows (default 10^5),
 * UTF-8 and GBK, against csv-parse (the library it replaced) on the same UTF-8 text in the same run.
 */

import { DEBTOR_TABLE, readCsvTable } from "@relink/sdk";
import { parse } from "csv-parse/sync";

const rowsArg = process.argv.indexOf("--rows");
const N = rowsArg > 0 ? Number(process.argv[rowsArg + 1]) : 100_000;

const lines = ["参考号,身份证号,姓名,出生日期,手机号"];
for (let i = 0; i < N; i++)
  lines.push(
    `XD-${String(i).padStart(6, "0")},11010519491231002X,张三${i % 100},1949-12-31,138${String(i).padStart(8, "0")}`,
  );
const text = `${lines.join("\r\n")}\r\n`;
const utf8 = new TextEncoder().encode(text);
// GBK bytes via a reverse map of the WHATWG decoder (the platform has no GBK encoder).
const reverse = new Map<string, number[]>();
const dec = new TextDecoder("gbk");
for (let a = 0x81; a <= 0xfe; a++)
  for (let b = 0x40; b <= 0xfe; b++) {
    const ch = dec.decode(new Uint8Array([a, b]));
    if (ch.length === 1 && !reverse.has(ch)) reverse.set(ch, [a, b]);
  }
const gbkBytes: number[] = [];
for (const ch of text) {
  const c = ch.codePointAt(0)!;
  if (c < 0x80) gbkBytes.push(c);
  else gbkBytes.push(...reverse.get(ch)!);
}
const gbk = new Uint8Array(gbkBytes);

function median(f: () => unknown, runs = 5): number {
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    f();
    times.push(performance.now() - t);
  }
  return times.sort((x, y) => x - y)[Math.floor(runs / 2)]!;
}

const baseline = median(() => parse(text, { columns: true, bom: true, trim: true, skip_empty_lines: true }));
const decodeOnly = median(() => new TextDecoder("utf-8", { fatal: true }).decode(utf8));
const ours = median(() => readCsvTable(utf8, DEBTOR_TABLE));
const oursGbk = median(() => readCsvTable(gbk, DEBTOR_TABLE));
const check = readCsvTable(gbk, DEBTOR_TABLE);
if (check.records.length !== N || check.encoding !== "gb18030") throw new Error("bench input not read back");

const rate = (ms: number) => Math.round((N / ms) * 1000);
console.log(`rows: ${N}`);
console.log("figure                                  ms        rows/s   ratio to csv-parse");
for (const [name, ms] of [
  ["csv-parse (baseline, UTF-8 text)", baseline],
  ["TextDecoder UTF-8 only", decodeOnly],
  ["readCsvTable UTF-8 bytes", ours],
  ["readCsvTable GBK bytes", oursGbk],
] as const)
  console.log(
    `${name.padEnd(36)} ${ms.toFixed(1).padStart(8)} ${String(rate(ms)).padStart(12)}   ${(ms / baseline).toFixed(2)}`,
  );
console.log(
  `BENCH csv ${JSON.stringify({
    rows: N,
    baselineCsvParseMs: Math.round(baseline),
    utf8Ms: Math.round(ours),
    gbkMs: Math.round(oursGbk),
    utf8RatioToCsvParse: Number((ours / baseline).toFixed(2)),
    gbkRatioToCsvParse: Number((oursGbk / baseline).toFixed(2)),
  })}`,
);
