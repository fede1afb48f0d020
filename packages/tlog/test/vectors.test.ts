/**
 * External vectors (test/vectors/*, each with SOURCE.md): transparency-dev/merkle inclusion and consistency
 * cases, positive and negative; the RFC 6962 reference tree; the C2SP signed-note example.
 */
import { describe, expect, it } from "vitest";
import { bytesEqual } from "../src/bytes.ts";
import {
  consistencyProof,
  hashLeaf,
  inclusionProof,
  MemoryTree,
  ProofError,
  verifyConsistency,
  verifyInclusion,
} from "../src/merkle.ts";
import { NoteError, parseNote, parseVerifierKey, verifyNote } from "../src/note.ts";
import { b64, fromHex, toHex } from "./helpers.ts";
import reference from "./vectors/rfc6962-reference/reference.json" with { type: "json" };

interface InclusionCase {
  leafIdx: bigint;
  treeSize: bigint;
  root: string;
  leafHash: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}
interface ConsistencyCase {
  size1: bigint;
  size2: bigint;
  root1: string;
  root2: string;
  proof: string[] | null;
  desc: string;
  wantErr: boolean;
}

/** Sizes in these files reach 2^64 - 1: parse numbers from their source text, losslessly, as bigint. */
function parseExact<T>(files: Record<string, string>): [string, T][] {
  const reviver = (_k: string, v: unknown, ctx: { source?: string }) =>
    typeof v === "number" ? BigInt(ctx.source!) : v;
  return Object.entries(files).map(([f, text]) => [f, JSON.parse(text, reviver as never) as T]);
}
const inclusion = parseExact<InclusionCase>(
  import.meta.glob<string>("./vectors/transparency-dev-merkle/testdata/inclusion/**/*.json", {
    eager: true,
    query: "?raw",
    import: "default",
  }),
);
const consistency = parseExact<ConsistencyCase>(
  import.meta.glob<string>("./vectors/transparency-dev-merkle/testdata/consistency/**/*.json", {
    eager: true,
    query: "?raw",
    import: "default",
  }),
);

/** A verifier outcome: true = accepted; false or a ProofError = rejected. Anything else is a bug. */
function outcome(f: () => boolean): boolean {
  try {
    return f();
  } catch (error) {
    if (error instanceof ProofError) return false;
    throw error;
  }
}

describe("transparency-dev/merkle inclusion vectors", () => {
  const cases = inclusion;
  it("has the vendored cases, negative ones included", () => {
    expect(cases.length).toBeGreaterThan(50);
    expect(cases.some(([, c]) => c.wantErr)).toBe(true);
    expect(cases.some(([, c]) => !c.wantErr)).toBe(true);
  });
  it.each(cases)("%s", (_file, c) => {
    const accepted = outcome(() =>
      verifyInclusion(c.leafIdx, c.treeSize, b64(c.leafHash), (c.proof ?? []).map(b64), b64(c.root)),
    );
    expect(accepted).toBe(!c.wantErr);
  });
});

describe("transparency-dev/merkle consistency vectors", () => {
  const cases = consistency;
  it("has the vendored cases, negative ones included", () => {
    expect(cases.length).toBeGreaterThan(50);
    expect(cases.filter(([, c]) => !c.wantErr).length).toBeGreaterThan(3);
  });
  it.each(cases)("%s", (_file, c) => {
    const accepted = outcome(() =>
      verifyConsistency(c.size1, c.size2, (c.proof ?? []).map(b64), b64(c.root1), b64(c.root2)),
    );
    expect(accepted).toBe(!c.wantErr);
  });
});

describe("RFC 6962 reference tree (8 leaves)", () => {
  const tree = new MemoryTree();
  for (const l of reference.leaves) tree.append(hashLeaf(fromHex(l)));

  it("computes the reference root for every prefix size", () => {
    for (const [i, root] of reference.roots.entries()) expect(toHex(tree.root(BigInt(i + 1)))).toBe(root);
  });

  it.each(reference.inclusionProofs)("generates and verifies the reference inclusion proof %o", async (p) => {
    const index = BigInt(p.leaf - 1);
    const size = BigInt(p.size);
    const proof = await inclusionProof(index, size, tree.read);
    expect(proof.map(toHex)).toEqual(p.proof);
    const leafHash = hashLeaf(fromHex(reference.leaves[p.leaf - 1]!));
    expect(verifyInclusion(index, size, leafHash, proof, fromHex(reference.roots[p.size - 1]!))).toBe(true);
  });

  it.each(reference.consistencyProofs)(
    "generates and verifies the reference consistency proof %o",
    async (p) => {
      const [s1, s2] = [BigInt(p.size1), BigInt(p.size2)];
      const proof = await consistencyProof(s1, s2, tree.read);
      expect(proof.map(toHex)).toEqual(p.proof);
      const r1 = fromHex(reference.roots[p.size1 - 1]!);
      const r2 = fromHex(reference.roots[p.size2 - 1]!);
      expect(verifyConsistency(s1, s2, proof, r1, r2)).toBe(true);
      if (s1 !== s2) expect(verifyConsistency(s1, s2, proof, r2, r1)).toBe(false);
    },
  );
});

describe("C2SP signed-note example", () => {
  const files = import.meta.glob<string>(["./vectors/c2sp/example.note", "./vectors/c2sp/example.vkey"], {
    eager: true,
    query: "?raw",
    import: "default",
  });
  const note = files["./vectors/c2sp/example.note"]!;
  const vkey = files["./vectors/c2sp/example.vkey"]!.trim();

  it("parses the verifier key and checks its key ID", () => {
    const key = parseVerifierKey(vkey);
    expect(key.name).toBe("example.com/foo");
    expect(toHex(key.keyId)).toBe("530d903a");
    expect(() => parseVerifierKey(vkey.replace("530d903a", "530d903b"))).toThrow(NoteError);
  });

  it("verifies the example note", () => {
    const parsed = parseNote(note);
    expect(parsed.text).toBe("This is an example message.\n");
    expect(verifyNote(parsed, [parseVerifierKey(vkey)]).map((k) => k.name)).toEqual(["example.com/foo"]);
  });

  it("rejects the note when its text or signature changes, and ignores it under another key", () => {
    const key = parseVerifierKey(vkey);
    const altered = parseNote(note.replace("example message", "example massage"));
    expect(() => verifyNote(altered, [key])).toThrow(expect.objectContaining({ code: "invalid_signature" }));
    const sigBytes = b64(parseNote(note).signatures[0]!.line.split(" ")[2]!.trim());
    for (const bit of [0, 40, 100, 8 * sigBytes.length - 1]) {
      const flipped = sigBytes.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      const { signatures } = parseNote(note);
      const tampered = {
        text: parseNote(note).text,
        signatures: [{ ...signatures[0]!, keyId: flipped.slice(0, 4), signature: flipped.slice(4) }],
      };
      const result = (() => {
        try {
          verifyNote(tampered, [key]);
          return "ok";
        } catch (e) {
          return (e as NoteError).code;
        }
      })();
      // A flipped key-ID bit makes the line unknown (ignored → no known signature); else the signature fails.
      expect(result).toBe(bit < 32 ? "no_known_signature" : "invalid_signature");
    }
    expect(bytesEqual(sigBytes.slice(0, 4), key.keyId)).toBe(true);
  });
});
