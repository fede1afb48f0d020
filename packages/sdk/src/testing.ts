/**
 * Fixtures for tests of code built on the SDK's CSV reader (the SDK's own tests, the portal's upload
 * tests): files encoded as Chinese institutions' tools save them. Pure and browser-safe like `csv`
 * (test/browser-entry.test.ts walks this entry too). Not exported from the package root: import
 * `@relink/sdk/testing`.
 */

/** GBK code of each character, built from the WHATWG decoder (the platform has no GBK encoder). */
let gbkTable: Map<string, number[]> | undefined;

function gbkCodes(): Map<string, number[]> {
  if (gbkTable) return gbkTable;
  const map = new Map<string, number[]>();
  const d = new TextDecoder("gbk");
  for (let a = 0x81; a <= 0xfe; a++)
    for (let b = 0x40; b <= 0xfe; b++) {
      if (b === 0x7f) continue;
      const ch = d.decode(new Uint8Array([a, b]));
      if (ch.length === 1 && ch !== "\ufffd" && !map.has(ch)) map.set(ch, [a, b]);
    }
  gbkTable = map;
  return map;
}

/** `text` encoded as GBK, as Excel saves a CSV on Chinese Windows; throws on a character GBK lacks. */
export function gbk(text: string): Uint8Array {
  const table = gbkCodes();
  const out: number[] = [];
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (code < 0x80) out.push(code);
    else {
      const bytes = table.get(ch);
      if (!bytes) throw new Error(`no GBK for ${ch}`);
      out.push(...bytes);
    }
  }
  return new Uint8Array(out);
}

/** `text` encoded as UTF-16LE (as "Unicode text" exports write it), with the byte-order mark unless `bom` is false. */
export function utf16le(text: string, bom = true): Uint8Array {
  const out = new Uint8Array((bom ? 2 : 0) + text.length * 2);
  if (bom) out.set([0xff, 0xfe]);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[(bom ? 2 : 0) + 2 * i] = c & 0xff;
    out[(bom ? 2 : 0) + 2 * i + 1] = c >> 8;
  }
  return out;
}
