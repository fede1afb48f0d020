/**
 * Member side of consent-membership proofs (ADR 0050): the member's consent book (the openings behind
 * its committed Poseidon root), the artifacts it proves with, and the proofs a lookup carries.
 *
 * Salts are derived, not drawn: salt = HMAC-SHA-256(recordKey, "relink/zk/v1/consent-salt" ‖ reference)
 * truncated to 31 bytes. The member can rebuild the same book (same leaves, same root) from its consent
 * file and its record key, and re-importing a consent adds nothing. The salt still hides the leaf from
 * anyone without the record key, which never leaves the node.
 */
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { hmac } from "@noble/hashes/hmac.js";
import { sha256 } from "@noble/hashes/sha2.js";
import type { ConsentProofsWire } from "@relink/protocol";
import { fromHex, toBase64Url } from "@relink/protocol";
import {
  type Artifacts,
  artifactUrl,
  type ConsentOpening,
  type ConsentProofBundle,
  checkArtifact,
  consentLeaf,
  createProverPool,
  encodeBundle,
  fieldToBytes,
  membershipInput,
  PoseidonTree,
  VKEY_HASH,
  ZkError,
} from "@relink/zk";
import type { ConsentProofs } from "./node.ts";

/** Reads the proving artifacts this build pins, checking each SHA-256 against the manifest. */
export function loadZkArtifacts(): Artifacts {
  return {
    wasm: checkArtifact("wasm", new Uint8Array(gunzipSync(readFileSync(artifactUrl("wasm"))))),
    zkey: checkArtifact("zkey", new Uint8Array(gunzipSync(readFileSync(artifactUrl("zkey"))))),
  };
}

export function consentSalt(recordKey: Uint8Array, reference: string): Uint8Array {
  return hmac(sha256, recordKey, new TextEncoder().encode(`relink/zk/v1/consent-salt\n${reference}`)).slice(
    0,
    31,
  );
}

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/**
 * The data category each kind of query reads, as the hub binds it (ADR 0048): a lookup returns contact
 * records, an exposure query credit exposure. A proof for one never covers the other.
 */
export const PROOF_CATEGORY = { lookup: "contact", exposure: "credit_exposure" } as const;

/** The member's committed consents: openings in insertion order and their 4-ary Poseidon tree (ADR 0048). */
export class ConsentBook {
  readonly #tree = new PoseidonTree();
  readonly #openings: ConsentOpening[] = [];
  readonly #leaves = new Set<bigint>();

  constructor(openings: readonly ConsentOpening[] = []) {
    for (const o of openings) this.add(o);
  }

  /** Adds a consent; false (and nothing changes) when the same opening is already in the book. */
  add(o: ConsentOpening): boolean {
    const leaf = consentLeaf(o);
    if (this.#leaves.has(leaf)) return false;
    this.#tree.insert(leaf);
    this.#leaves.add(leaf);
    this.#openings.push(o);
    return true;
  }

  get size(): number {
    return this.#openings.length;
  }

  root(): bigint {
    return this.#tree.root();
  }

  /** The index of an unexpired consent for (tag, purpose, category) at `at`, latest expiry first; -1 if none. */
  find(tag: Uint8Array, purpose: string, category: string, at: number): number {
    let best = -1;
    const t = hex(tag);
    this.#openings.forEach((o, i) => {
      if (o.purpose === purpose && o.category === category && o.expiresAt > at && hex(o.tag) === t) {
        if (best < 0 || o.expiresAt > this.#openings[best]!.expiresAt) best = i;
      }
    });
    return best;
  }

  /** The book as JSON (holds the salts: keep it with the member's other secrets). */
  toJSON(): { format: "relink-consent-book/v2"; openings: Record<string, string | number>[] } {
    return {
      format: "relink-consent-book/v2",
      openings: this.#openings.map((o) => ({
        tag: hex(o.tag),
        purpose: o.purpose,
        category: o.category,
        legalBasis: o.legalBasis,
        expiresAt: o.expiresAt,
        evidenceHash: hex(o.evidenceHash),
        salt: hex(o.salt),
      })),
    };
  }

  static fromJSON(unverified: unknown): ConsentBook {
    const o = unverified as { format?: unknown; openings?: unknown };
    if (o?.format === "relink-consent-book/v1") {
      // v1 leaves bound no data category and sit in a binary tree the retired verification key was for.
      throw new ZkError(
        "INVALID_ENCODING",
        "consent book: relink-consent-book/v1 predates data categories (ADR 0048); commit the consents again with `relink consent commit`",
      );
    }
    if (o?.format !== "relink-consent-book/v2" || !Array.isArray(o.openings)) {
      throw new ZkError("INVALID_ENCODING", "consent book: format relink-consent-book/v2 expected");
    }
    const bytes = (i: number, f: string, v: unknown, n: number) => {
      if (typeof v !== "string" || !/^(?:[0-9a-f]{2})*$/.test(v) || v.length !== 2 * n) {
        throw new ZkError(
          "INVALID_ENCODING",
          `consent book: openings[${i}].${f}: ${n} bytes of hex expected`,
        );
      }
      return Uint8Array.from(v.match(/../g) ?? [], (x) => Number.parseInt(x, 16));
    };
    return new ConsentBook(
      o.openings.map((x: Record<string, unknown>, i: number) => ({
        tag: bytes(i, "tag", x.tag, 32),
        purpose: String(x.purpose),
        category: String(x.category),
        legalBasis: String(x.legalBasis),
        expiresAt: Number(x.expiresAt),
        evidenceHash: bytes(i, "evidenceHash", x.evidenceHash, 32),
        salt: bytes(i, "salt", x.salt, 31),
      })),
    );
  }

  /** Witness inputs proving each tag covered for (purpose, category) at `queryTime`; throws naming the first gap. */
  inputs(
    tags: readonly Uint8Array[],
    purpose: string,
    category: string,
    queryTime: number,
  ): Record<string, unknown>[] {
    const root = this.root();
    return tags.map((tag, i) => {
      const at = this.find(tag, purpose, category, queryTime);
      if (at < 0) {
        throw new ZkError(
          "NO_SUCH_LEAF",
          `tag ${i + 1}: no unexpired consent for '${purpose}' (${category}) in the book`,
        );
      }
      return membershipInput(this.#openings[at]!, this.#tree.path(at), root, queryTime);
    });
  }
}

/** A prover pool started on first use (the artifacts load only when a member actually proves). */
export function lazyProverPool(size?: number): BatchProver & { close(): Promise<void> } {
  let pool: ReturnType<typeof createProverPool> | undefined;
  return {
    proveAll: (inputs) => {
      pool ??= createProverPool(loadZkArtifacts(), size);
      return pool.proveAll(inputs);
    },
    close: async () => pool?.close(),
  };
}

/** Anything that proves witness inputs in order: a ProverPool, or a single-threaded stand-in. */
export interface BatchProver {
  proveAll(inputs: readonly Record<string, unknown>[]): Promise<{ proof: Uint8Array }[]>;
}

/** Proves a lookup's tags; returns what the wire carries and the bundle to keep beside the receipt. */
export async function proveLookup(
  book: ConsentBook,
  prover: BatchProver,
  q: { tags: readonly Uint8Array[]; purpose: string; category: string; queryTime: number },
): Promise<{ wire: ConsentProofsWire; bundle: ConsentProofBundle }> {
  const proofs = await prover.proveAll(book.inputs(q.tags, q.purpose, q.category, q.queryTime));
  const root = book.root();
  const rootB64 = toBase64Url(fieldToBytes(root));
  return {
    wire: {
      queryTime: q.queryTime,
      items: proofs.map((p) => ({ root: rootB64, proof: toBase64Url(p.proof) })),
    },
    bundle: {
      vkeySha256: VKEY_HASH,
      purpose: q.purpose,
      category: q.category,
      queryTime: q.queryTime,
      items: proofs.map((p, i) => ({ tag: q.tags[i]!, root, proof: p.proof })),
    },
  };
}

/**
 * The member node's view of a consent book and a prover (node.ts `ConsentProofs`): consent records salted
 * from the record key, the committed root, and lookups proved — with the bundle encoded as JSON for the
 * receipt's side file.
 */
export function consentProofs(book: ConsentBook, prover: BatchProver): ConsentProofs {
  return {
    add: (recordKey, reference, c) => book.add({ ...c, salt: consentSalt(recordKey, reference) }),
    covers: (tag, purpose, category, at) => book.find(tag, purpose, category, at) >= 0,
    get size() {
      return book.size;
    },
    commitment: () => ({
      root: toBase64Url(fieldToBytes(book.root())),
      vkeyHash: toBase64Url(fromHex(VKEY_HASH)),
    }),
    prove: async (q) => {
      const proved = await proveLookup(book, prover, q);
      return { wire: proved.wire, bundle: JSON.parse(encodeBundle(proved.bundle)) as unknown };
    },
  };
}
