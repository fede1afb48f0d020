// The circuit the artifacts are built from: depth 20 (about a million consents per committed root).
pragma circom 2.1.6;

include "consent_membership.circom";

component main {public [root, tagHi, tagLo, purpose, queryTime]} = ConsentMembership(20);
