/**
 * Receipt attacks: a flipped bit anywhere (every byte of the leaf, proof, root and signatures), a proof for
 * the wrong index, a checkpoint signed by an unknown key, a cosignature from a non-witness, trailing garbage
 * — each rejected with a precise reason.
 */
import { describe, expect, it } from "vitest";
import { base64Decode, base64Encode } from "../src/bytes.ts";
import { signCheckpoint } from "../src/checkpoint.ts";
import { cosign } from "../src/cosignature.ts";
import { verifyEd25519Noble } from "../src/ed25519.ts";
import { encodeAuditEvent } from "../src/leaf.ts";
import { hashLeaf, inclusionProof, MemoryTree } from "../src/merkle.ts";
import {
  formatVerifierKey,
  generateSignerKey,
  parseNote,
  SIG_TYPE_COSIGNATURE_V1,
  verifierOf,
} from "../src/note.ts";
import {
  buildReceipt,
  type Receipt,
  type ReceiptTrust,
  verifyReceipt,
  verifyReceiptAsync,
} from "../src/receipt.ts";
import { sampleEvent, seeded } from "./helpers.ts";

const ORIGIN = "relink.example/audit-log/v1";
const logKey = generateSignerKey(ORIGIN, seeded(11));
const w1 = generateSignerKey("w1.member.example/witness", seeded(12), SIG_TYPE_COSIGNATURE_V1);
const w2 = generateSignerKey("w2.member.example/witness", seeded(13), SIG_TYPE_COSIGNATURE_V1);
const outsider = generateSignerKey("w3.member.example/witness", seeded(14), SIG_TYPE_COSIGNATURE_V1);
const vk = (k: typeof logKey) => formatVerifierKey(verifierOf(k));
const trust: ReceiptTrust = { logKey: vk(logKey), witnesses: [vk(w1), vk(w2)], k: 2 };

const leaves = Array.from({ length: 13 }, (_, i) =>
  encodeAuditEvent({ ...sampleEvent, time: sampleEvent.time + i }),
);
const tree = new MemoryTree();
for (const l of leaves) tree.append(hashLeaf(l));

function checkpoint(signer = logKey, cosigners = [w1, w2]): string {
  const note = signCheckpoint({ origin: ORIGIN, size: tree.size, root: tree.root(), extensions: [] }, signer);
  const text = parseNote(note).text;
  return note + cosigners.map((w) => cosign(text, w, 1764144000n)).join("");
}

async function receipt(index: number, cp = checkpoint()): Promise<Receipt> {
  const proof = await inclusionProof(BigInt(index), tree.size, tree.read);
  return buildReceipt({ index: BigInt(index), leaf: leaves[index]!, inclusionProof: proof, checkpoint: cp });
}

function reason(r: unknown, t: ReceiptTrust = trust): string {
  const v = verifyReceipt(typeof r === "string" ? r : JSON.stringify(r), t);
  return v.ok ? "ok" : v.reason;
}

function flipBit(b64: string, bit: number): string {
  const bytes = base64Decode(b64)!;
  bytes[bit >> 3]! ^= 1 << (bit & 7);
  return base64Encode(bytes);
}

/** Flips one bit inside the base64 payload of signature line `line` of a note. */
function flipInSignature(note: string, line: number, bit: number): string {
  const lines = note.split("\n");
  const sigStart = lines.indexOf("") + 1;
  const parts = lines[sigStart + line]!.split(" ");
  parts[2] = flipBit(parts[2]!, bit);
  lines[sigStart + line] = parts.join(" ");
  return lines.join("\n");
}

describe("verifyReceipt", () => {
  it("accepts a genuine receipt, offline, with 2 of 2 witnesses", async () => {
    const r = await receipt(6);
    const v = verifyReceipt(JSON.stringify(r), trust);
    expect(v).toMatchObject({ ok: true, index: 6n, event: { type: "lookup" } });
    expect(v.ok && v.cosignatures.length).toBe(2);
    expect(verifyReceipt(r, trust).ok).toBe(true); // a parsed object works too
  });

  it("rejects a flipped bit in every byte of the leaf", async () => {
    const r = await receipt(6);
    const n = base64Decode(r.leaf)!.length;
    for (let byte = 0; byte < n; byte++) {
      const bit = byte * 8 + (byte % 8);
      const got = reason({ ...r, leaf: flipBit(r.leaf, bit) });
      expect(["malformed_leaf", "inclusion_proof_invalid"], `leaf byte ${byte}`).toContain(got);
    }
  });

  it("rejects a flipped bit in every byte of every proof hash", async () => {
    const r = await receipt(6);
    expect(r.inclusionProof.length).toBeGreaterThan(2);
    r.inclusionProof.forEach((_h, i) => {
      for (let byte = 0; byte < 32; byte++) {
        const proof = r.inclusionProof.map((h, j) => (j === i ? flipBit(h, byte * 8 + (byte % 8)) : h));
        expect(reason({ ...r, inclusionProof: proof })).toBe("inclusion_proof_invalid");
      }
    });
  });

  it("rejects a flipped bit in every byte of the checkpoint root (the log signature no longer verifies)", async () => {
    const r = await receipt(6);
    const lines = r.checkpoint.split("\n");
    for (let byte = 0; byte < 32; byte++) {
      const altered = [lines[0], lines[1], flipBit(lines[2]!, byte * 8 + 3), ...lines.slice(3)].join("\n");
      expect(reason({ ...r, checkpoint: altered })).toBe("invalid_log_signature");
    }
  });

  it("rejects a flipped bit in every byte of the log signature and of each cosignature", async () => {
    const r = await receipt(6);
    const sigLen = (line: number) =>
      base64Decode(
        r.checkpoint
          .split("\n")
          .filter((l) => l.startsWith("\u2014"))
          [line]!.split(" ")[2]!,
      )!.length;
    for (const [line, keyIdReason, sigReason] of [
      [0, "no_log_signature", "invalid_log_signature"],
      [1, "insufficient_cosignatures", "invalid_cosignature"],
      [2, "insufficient_cosignatures", "invalid_cosignature"],
    ] as const) {
      for (let byte = 0; byte < sigLen(line); byte++) {
        const got = reason({ ...r, checkpoint: flipInSignature(r.checkpoint, line, byte * 8 + (byte % 8)) });
        // A flipped key-ID byte makes the line another key's (ignored); any other byte fails to verify.
        expect(got, `signature line ${line} byte ${byte}`).toBe(byte < 4 ? keyIdReason : sigReason);
      }
    }
  });

  it("rejects a proof for the wrong index, and an index beyond the tree", async () => {
    const r = await receipt(6);
    expect(reason({ ...r, index: 7 })).toBe("inclusion_proof_invalid");
    const other = await receipt(5);
    expect(reason({ ...r, inclusionProof: other.inclusionProof })).toBe("inclusion_proof_invalid");
    expect(reason({ ...r, index: 13 })).toBe("index_out_of_range");
    expect(reason({ ...r, inclusionProof: r.inclusionProof.slice(1) })).toBe("malformed_proof");
  });

  it("rejects a checkpoint signed by an unknown key, even one using the log's name", async () => {
    const impostor = generateSignerKey(ORIGIN, seeded(99));
    const r = await receipt(6, checkpoint(impostor));
    expect(reason(r)).toBe("no_log_signature");
  });

  it("ignores cosignatures from non-witnesses: they do not count towards k", async () => {
    const r = await receipt(6, checkpoint(logKey, [w1, outsider]));
    expect(reason(r)).toBe("insufficient_cosignatures");
    expect(reason(r, { ...trust, k: 1 })).toBe("ok");
    const sameNameWrongKey = generateSignerKey(w2.name, seeded(15), SIG_TYPE_COSIGNATURE_V1);
    expect(reason(await receipt(6, checkpoint(logKey, [w1, sameNameWrongKey])))).toBe(
      "insufficient_cosignatures",
    );
  });

  it("rejects trailing garbage anywhere: after the JSON, in the note, in the leaf, in the proof, unknown fields", async () => {
    const r = await receipt(6);
    const json = JSON.stringify(r);
    expect(reason(`${json}x`)).toBe("malformed_receipt");
    expect(reason(`${json}{}`)).toBe("malformed_receipt");
    expect(reason({ ...r, checkpoint: `${r.checkpoint}garbage` })).toBe("malformed_checkpoint");
    expect(reason({ ...r, checkpoint: `${r.checkpoint}\n` })).toBe("malformed_checkpoint");
    const leaf = base64Decode(r.leaf)!;
    expect(reason({ ...r, leaf: base64Encode(new Uint8Array([...leaf, 0])) })).toBe("malformed_leaf");
    expect(reason({ ...r, inclusionProof: [...r.inclusionProof, r.inclusionProof[0]] })).toBe(
      "malformed_proof",
    );
    expect(reason({ ...r, extra: 1 })).toBe("malformed_receipt");
  });

  it("rejects an event that does not match the leaf, and an unsupported format", async () => {
    const r = await receipt(6);
    expect(reason({ ...r, event: { ...r.event, outputCount: 0 } })).toBe("event_mismatch");
    expect(reason({ ...r, format: "relink-audit-receipt/v2" })).toBe("unsupported_format");
  });

  it("reports a bad trust configuration instead of verifying against it", async () => {
    const r = await receipt(6);
    expect(reason(r, { ...trust, logKey: "nonsense" })).toBe("bad_verifier_key");
    expect(reason(r, { ...trust, k: 3 })).toBe("bad_verifier_key");
    expect(reason(r, { ...trust, witnesses: [vk(logKey)] })).toBe("bad_verifier_key");
  });

  it("verifyReceiptAsync (WebCrypto Ed25519) gives the same verdict and reason as verifyReceipt", async () => {
    const r = await receipt(6);
    const variants: unknown[] = [
      r,
      { ...r, index: 7 },
      { ...r, leaf: flipBit(r.leaf, 100) },
      { ...r, checkpoint: flipInSignature(r.checkpoint, 0, 80) },
      { ...r, checkpoint: flipInSignature(r.checkpoint, 1, 80) },
      { ...r, checkpoint: flipInSignature(r.checkpoint, 2, 8) },
      await receipt(6, checkpoint(logKey, [w1, outsider])),
      await receipt(6, checkpoint(generateSignerKey(ORIGIN, seeded(98)))),
      `${JSON.stringify(r)}x`,
      { ...r, checkpoint: `${r.checkpoint}garbage` },
    ];
    for (const v of variants) {
      const text = typeof v === "string" ? v : JSON.stringify(v);
      const sync = verifyReceipt(text, trust);
      const async_ = await verifyReceiptAsync(text, trust);
      expect(async_.ok ? "ok" : async_.reason).toBe(sync.ok ? "ok" : sync.reason);
      // The browser path (noble) agrees with the default (node:crypto on Node).
      const noble = verifyReceipt(text, trust, verifyEd25519Noble);
      expect(noble.ok ? "ok" : noble.reason).toBe(sync.ok ? "ok" : sync.reason);
    }
  });
});
