// The circuit the artifacts are built from: a 4-ary tree of 10 levels (4^10 = 2^20, about a million
// consents per committed root).
pragma circom 2.1.6;

include "consent_membership.circom";

component main {public [root, tagHi, tagLo, scope, queryTime]} = ConsentMembership(10);
