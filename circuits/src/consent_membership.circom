// Consent membership (issue #12, ADR 0050, 0048): proves that a queried subject tag is covered by a consent
// the member committed to (a leaf of a Poseidon Merkle tree whose root is in the audit log), for the
// declared scope (purpose and data category) and not expired at the declared query time — without
// revealing the tree's other leaves, the consent's legal basis, expiry, evidence hash or salt, or the
// leaf's position.
//
// Leaf     = Poseidon(tagHi, tagLo, scope, legalBasis, expiry, evidenceHash, salt)     (7 inputs)
//            scope = H(purpose, data category) computed outside the circuit (packages/zk/src/fields.ts
//            `scopeField`, ADR 0048): the leaf commits to the category, the public input names it.
// Node     = Poseidon(c0, c1, c2, c3)                                                 (4 inputs, ADR 0048)
//            a 4-ary tree of 10 levels holds 4^10 = 2^20 leaves, as the binary depth-20 tree did, with
//            10 Poseidon(4) permutations (t = 5) instead of 20 Poseidon(2) (t = 3): ≈ 40 % fewer constraints.
// Poseidon: Grassi, Khovratovich, Rechberger, Roy, Schofnegger, "Poseidon: A New Hash Function for
//           Zero-Knowledge Proof Systems", USENIX Security 2021 (circomlib's BN254 instance, x^5, t = n + 1).
// Groth16:  J. Groth, "On the Size of Pairing-based Non-interactive Arguments", EUROCRYPT 2016.
// Path layout: pathIndices are the leaf index's bits, least significant first; level i's child position
// is pathIndices[2i] + 2·pathIndices[2i+1], and pathElements[i] are the three other children in order.
// Field encodings are in packages/zk/src/fields.ts.
pragma circom 2.1.6;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/bitify.circom";

// The commitment to one consent.
template ConsentLeaf() {
    signal input tagHi;
    signal input tagLo;
    signal input scope;
    signal input legalBasis;
    signal input expiry;
    signal input evidenceHash;
    signal input salt;
    signal output leaf;

    component h = Poseidon(7);
    h.inputs[0] <== tagHi;
    h.inputs[1] <== tagLo;
    h.inputs[2] <== scope;
    h.inputs[3] <== legalBasis;
    h.inputs[4] <== expiry;
    h.inputs[5] <== evidenceHash;
    h.inputs[6] <== salt;
    leaf <== h.out;
}

// Places `node` at position b0 + 2·b1 among four children; `sib` are the other three in order.
// Selectors: e0 = [pos 0], e1 = [pos 1], e2 = [pos 2], e3 = [pos 3] = b0·b1, all affine in (b0, b1, b0·b1).
template QuadSelect() {
    signal input node;
    signal input sib[3];
    signal input b0;
    signal input b1;
    signal output c[4];

    b0 * (1 - b0) === 0;
    b1 * (1 - b1) === 0;
    signal e3 <== b0 * b1;
    // c0 = pos 0 ? node : s0
    c[0] <== sib[0] + (1 - b0 - b1 + e3) * (node - sib[0]);
    // c1 = pos 0 ? s0 : pos 1 ? node : s1
    signal t1 <== (1 - b0 - b1 + e3) * (sib[0] - sib[1]);
    c[1] <== sib[1] + t1 + (b0 - e3) * (node - sib[1]);
    // c2 = pos ≤ 1 ? s1 : pos 2 ? node : s2
    signal t2 <== (1 - b1) * (sib[1] - sib[2]);
    c[2] <== sib[2] + t2 + (b1 - e3) * (node - sib[2]);
    // c3 = pos 3 ? node : s2
    c[3] <== sib[2] + e3 * (node - sib[2]);
}

// Root of a 4-ary Poseidon Merkle tree with `levels` levels from a leaf and its authentication path.
template QuadMerkleRoot(levels) {
    signal input leaf;
    signal input pathElements[levels][3];
    signal input pathIndices[2 * levels];
    signal output root;

    signal hashes[levels + 1];
    component sel[levels];
    component h[levels];
    hashes[0] <== leaf;
    for (var i = 0; i < levels; i++) {
        sel[i] = QuadSelect();
        sel[i].node <== hashes[i];
        for (var j = 0; j < 3; j++) sel[i].sib[j] <== pathElements[i][j];
        sel[i].b0 <== pathIndices[2 * i];
        sel[i].b1 <== pathIndices[2 * i + 1];
        h[i] = Poseidon(4);
        for (var j = 0; j < 4; j++) h[i].inputs[j] <== sel[i].c[j];
        hashes[i + 1] <== h[i].out;
    }
    root <== hashes[levels];
}

template ConsentMembership(levels) {
    // Public: the committed root (checked by the hub against the audit log), the queried tag as two
    // 128-bit limbs, the declared scope (purpose and data category), and the query time (ms since the
    // Unix epoch). The verifier computes every public input itself from canonical encodings (limbs below
    // 2^128, time below 2^53), so the circuit does not range-check them (ADR 0048).
    signal input root;
    signal input tagHi;
    signal input tagLo;
    signal input scope;
    signal input queryTime;
    // Private: the rest of the consent and where it sits in the tree.
    signal input legalBasis;
    signal input expiry;
    signal input evidenceHash;
    signal input salt;
    signal input pathElements[levels][3];
    signal input pathIndices[2 * levels];

    // The expiry is private: range-checked to 64 bits, so LessThan(64) (correct only for inputs below
    // 2^64) compares it as an integer with the query time.
    component expiryBits = Num2Bits(64);
    expiryBits.in <== expiry;

    // Unexpired: queryTime < expiry.
    component live = LessThan(64);
    live.in[0] <== queryTime;
    live.in[1] <== expiry;
    live.out === 1;

    component leaf = ConsentLeaf();
    leaf.tagHi <== tagHi;
    leaf.tagLo <== tagLo;
    leaf.scope <== scope;
    leaf.legalBasis <== legalBasis;
    leaf.expiry <== expiry;
    leaf.evidenceHash <== evidenceHash;
    leaf.salt <== salt;

    component tree = QuadMerkleRoot(levels);
    tree.leaf <== leaf.leaf;
    for (var i = 0; i < levels; i++) {
        for (var j = 0; j < 3; j++) tree.pathElements[i][j] <== pathElements[i][j];
    }
    for (var i = 0; i < 2 * levels; i++) tree.pathIndices[i] <== pathIndices[i];
    tree.root === root;
}
