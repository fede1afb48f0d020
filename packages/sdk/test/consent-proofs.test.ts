/**
 * `consentProofs(book, prover)`: the member node's view of a consent book (node.ts `ConsentProofs`, which
 * keeps the prover out of the node module and the browser entry). Salts come from the record key and the
 * reference (re-adding adds nothing), coverage follows purpose, data category and expiry, the commitment is the book's root
 * and the pinned verification key's hash, and a proof per tag goes on the wire with its bundle as JSON.
 */
import { fromBase64Url, toBase64Url } from "@relink/protocol";
import { fieldToBytes, parseBundle, VKEY_HASH } from "@relink/zk";
import { describe, expect, it } from "vitest";
import { ConsentBook, consentProofs, consentSalt } from "../src/consent-proofs.ts";

const tag = (n: number) => new Uint8Array(32).fill(n);
const recordKey = new Uint8Array(32).fill(7);
const DAY = 86_400_000;
const consent = (n: number, purpose = "debt_collection", category = "contact") => ({
  tag: tag(n),
  purpose,
  category,
  legalBasis: "consent",
  expiresAt: Date.parse("2027-01-01T00:00:00Z"),
  evidenceHash: new Uint8Array(32).fill(9),
});

describe("consentProofs", () => {
  it("adds salted consents once, answers coverage and commits the root", () => {
    const book = new ConsentBook();
    const zk = consentProofs(book, { proveAll: async () => [] });
    expect(zk.add(recordKey, "D-1#1", consent(1))).toBe(true);
    expect(zk.add(recordKey, "D-1#1", consent(1))).toBe(false);
    expect(zk.add(recordKey, "D-2#1", consent(2, "credit_assessment"))).toBe(true);
    // The same consent for another data category is another leaf (ADR 0048).
    expect(zk.add(recordKey, "D-1#1", consent(1, "debt_collection", "credit_exposure"))).toBe(true);
    expect(zk.size).toBe(3);
    const now = Date.parse("2026-12-01T00:00:00Z");
    expect(zk.covers(tag(1), "debt_collection", "contact", now)).toBe(true);
    expect(zk.covers(tag(1), "debt_collection", "credit_exposure", now)).toBe(true);
    expect(zk.covers(tag(1), "debt_collection", "employment", now)).toBe(false);
    expect(zk.covers(tag(2), "debt_collection", "contact", now)).toBe(false);
    expect(zk.covers(tag(1), "debt_collection", "contact", Date.parse("2027-01-01T00:00:00Z") + DAY)).toBe(
      false,
    );
    expect(zk.covers(tag(3), "debt_collection", "contact", now)).toBe(false);
    expect(zk.commitment()).toEqual({
      root: toBase64Url(fieldToBytes(book.root())),
      vkeyHash: toBase64Url(Uint8Array.from(VKEY_HASH.match(/../g)!.map((h) => Number.parseInt(h, 16)))),
    });
    // The salt is the record key's HMAC of the reference: another key gives another leaf.
    expect(zk.add(new Uint8Array(32).fill(8), "D-1#1", consent(1))).toBe(true);
    expect(consentSalt(recordKey, "D-1#1")).not.toEqual(consentSalt(recordKey, "D-1#2"));
  });

  it("proves one item per tag and returns the bundle as JSON", async () => {
    const book = new ConsentBook();
    const zk = consentProofs(book, {
      proveAll: async (inputs) => inputs.map((_, i) => ({ proof: new Uint8Array(256).fill(i + 1) })),
    });
    zk.add(recordKey, "D-1#1", consent(1));
    zk.add(recordKey, "D-2#1", consent(2));
    const queryTime = Date.parse("2026-12-01T00:00:00Z");
    const r = await zk.prove({
      tags: [tag(2), tag(1)],
      purpose: "debt_collection",
      category: "contact",
      queryTime,
    });
    await expect(
      zk.prove({ tags: [tag(1)], purpose: "debt_collection", category: "credit_exposure", queryTime }),
    ).rejects.toThrow(/no unexpired consent for 'debt_collection' \(credit_exposure\)/);
    expect(r.wire.queryTime).toBe(queryTime);
    expect(r.wire.items).toHaveLength(2);
    expect(r.wire.items.map((i) => fromBase64Url(i.proof)[0])).toEqual([1, 2]);
    const bundle = parseBundle(JSON.stringify(r.bundle));
    expect(bundle.purpose).toBe("debt_collection");
    expect(bundle.category).toBe("contact");
    expect(bundle.items.map((i) => i.tag[0])).toEqual([2, 1]);
  });
});
