// Consent membership (issue #12, ADR 0050): proves that a queried subject tag is covered by a consent the
// member committed to (a leaf of a Poseidon Merkle tree whose root is in the audit log), for the declared
// purpose and not expired at the declared query time — without revealing the tree's other leaves, the
// consent's legal basis, expiry, evidence hash or salt, or the leaf's position.
//
// Leaf     = Poseidon(tagHi, tagLo, purpose, legalBasis, expiry, evidenceHash, salt)   (7 inputs)
// Node     = Poseidon(left, right)                                                     (2 inputs)
// Poseidon: Grassi, Khovratovich, Rechberger, Roy, Schofnegger, "Poseidon: A New Hash Function for
//           Zero-Knowledge Proof Systems", USENIX Security 2021 (circomlib's BN254 instance, x^5, t = n + 1).
// Groth16:  J. Groth, "On the Size of Pairing-based Non-interactive Arguments", EUROCRYPT 2016.
// Merkle path layout follows Semaphore's / zk-kit's binary incremental Merkle tree (pathIndices[i] = 1 when
// the running hash is the right child at level i). Field encodings are in packages/zk/src/fields.ts.
pragma circom 2.1.6;

include "circomlib/circuits/poseidon.circom";
include "circomlib/circuits/comparators.circom";
include "circomlib/circuits/bitify.circom";

// The commitment to one consent.
template ConsentLeaf() {
    signal input tagHi;
    signal input tagLo;
    signal input purpose;
    signal input legalBasis;
    signal input expiry;
    signal input evidenceHash;
    signal input salt;
    signal output leaf;

    component h = Poseidon(7);
    h.inputs[0] <== tagHi;
    h.inputs[1] <== tagLo;
    h.inputs[2] <== purpose;
    h.inputs[3] <== legalBasis;
    h.inputs[4] <== expiry;
    h.inputs[5] <== evidenceHash;
    h.inputs[6] <== salt;
    leaf <== h.out;
}

// Root of a binary Poseidon Merkle tree of the given depth from a leaf and its authentication path.
template MerkleRoot(depth) {
    signal input leaf;
    signal input pathElements[depth];
    signal input pathIndices[depth];
    signal output root;

    signal hashes[depth + 1];
    signal left[depth];
    signal right[depth];
    component h[depth];
    hashes[0] <== leaf;
    for (var i = 0; i < depth; i++) {
        // Each index is a bit.
        pathIndices[i] * (1 - pathIndices[i]) === 0;
        // bit 0: (hash, sibling); bit 1: (sibling, hash).
        left[i] <== hashes[i] + pathIndices[i] * (pathElements[i] - hashes[i]);
        right[i] <== pathElements[i] + hashes[i] - left[i];
        h[i] = Poseidon(2);
        h[i].inputs[0] <== left[i];
        h[i].inputs[1] <== right[i];
        hashes[i + 1] <== h[i].out;
    }
    root <== hashes[depth];
}

template ConsentMembership(depth) {
    // Public: the committed root (checked by the hub against the audit log), the queried tag as two
    // 128-bit limbs, the declared purpose, and the query time (ms since the Unix epoch).
    signal input root;
    signal input tagHi;
    signal input tagLo;
    signal input purpose;
    signal input queryTime;
    // Private: the rest of the consent and where it sits in the tree.
    signal input legalBasis;
    signal input expiry;
    signal input evidenceHash;
    signal input salt;
    signal input pathElements[depth];
    signal input pathIndices[depth];

    // Limbs are 128-bit and times 64-bit, so the encodings are injective and the comparison is sound
    // (LessThan(n) is only correct for inputs below 2^n).
    component hiBits = Num2Bits(128);
    hiBits.in <== tagHi;
    component loBits = Num2Bits(128);
    loBits.in <== tagLo;
    component expiryBits = Num2Bits(64);
    expiryBits.in <== expiry;
    component timeBits = Num2Bits(64);
    timeBits.in <== queryTime;

    // Unexpired: queryTime < expiry.
    component live = LessThan(64);
    live.in[0] <== queryTime;
    live.in[1] <== expiry;
    live.out === 1;

    component leaf = ConsentLeaf();
    leaf.tagHi <== tagHi;
    leaf.tagLo <== tagLo;
    leaf.purpose <== purpose;
    leaf.legalBasis <== legalBasis;
    leaf.expiry <== expiry;
    leaf.evidenceHash <== evidenceHash;
    leaf.salt <== salt;

    component tree = MerkleRoot(depth);
    tree.leaf <== leaf.leaf;
    for (var i = 0; i < depth; i++) {
        tree.pathElements[i] <== pathElements[i];
        tree.pathIndices[i] <== pathIndices[i];
    }
    tree.root === root;
}
