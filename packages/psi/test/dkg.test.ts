import { describe, expect, it } from "vitest";
import { toHex } from "../src/bytes.ts";
import {
  type DkgParams,
  type DkgRound1Broadcast,
  type DkgRound2Message,
  type DkgState,
  dkgRound1,
  dkgRound2,
  dkgRound3,
} from "../src/dkg.ts";
import { DkgComplaintError, DkgError, EpochMismatchError } from "../src/errors.ts";
import { bigintToScalar, nobleGroup, ORDER, scalarToBigint } from "../src/group.ts";
import { evaluate, MODE_VOPRF } from "../src/rfc9497.ts";
import { blindInputs, combineResponses, evaluateAsHolder, lagrangeAtZero } from "../src/threshold.ts";
import { seededRng } from "./helpers/rng.ts";

const P: DkgParams = { networkId: "relink-test", epoch: 3, threshold: 2, holders: 3 };

function run1(params = P) {
  const r1 = [1, 2, 3].slice(0, params.holders).map((i) => dkgRound1(params, i, seededRng(100 + i)));
  return { states: r1.map((r) => r.state), broadcasts: r1.map((r) => r.broadcast) };
}
function run2(states: DkgState[], broadcasts: DkgRound1Broadcast[]) {
  const r2 = states.map((s) => dkgRound2(s, broadcasts));
  return { states: r2.map((r) => r.state), messages: r2.flatMap((r) => r.messages) };
}
const to = (messages: DkgRound2Message[], i: number) => messages.filter((m) => m.to === i);

describe("DKG (FROST / Pedersen DKG with Feldman VSS)", () => {
  const { states, broadcasts } = run1();
  const round2 = run2(states, broadcasts);
  const results = round2.states.map((s, i) => dkgRound3(s, broadcasts, to(round2.messages, i + 1)));

  it("every holder derives the same public key set", () => {
    const pk = results.map((r) => toHex(r.publicKeys.groupPublicKey));
    expect(new Set(pk).size).toBe(1);
    for (const r of results) {
      expect([...r.publicKeys.publicShares.keys()].sort()).toEqual([1, 2, 3]);
      expect(toHex(nobleGroup.mulBase(r.key.secretShare))).toBe(toHex(r.key.publicShare));
    }
  });

  it("any t shares evaluate the same PRF as the (never assembled) key; the test reconstructs it only to check", () => {
    const lambda = lagrangeAtZero([1, 2]);
    const k = bigintToScalar(
      [0, 1].reduce(
        (acc, i) => acc + scalarToBigint(lambda.get(i + 1)!) * scalarToBigint(results[i]!.key.secretShare),
        0n,
      ) % ORDER,
    );
    expect(toHex(nobleGroup.mulBase(k))).toBe(toHex(results[0]!.publicKeys.groupPublicKey));
    const input = new TextEncoder().encode("x");
    const batch = blindInputs(P, [input], { rng: seededRng(5) });
    for (const pair of [
      [0, 1],
      [1, 2],
      [0, 2],
    ]) {
      const rs = pair.map((i) => evaluateAsHolder(results[i]!.key, batch.request, { rng: seededRng(6) }));
      const out = combineResponses(results[0]!.publicKeys, batch, rs);
      expect(toHex(out[0]!)).toBe(toHex(evaluate(MODE_VOPRF, k, input)));
    }
  });

  it("round functions are pure: the same state and messages give the same output and are not consumed", () => {
    const again = dkgRound2(states[0]!, broadcasts);
    expect(again.messages.map((m) => toHex(m.share))).toEqual(
      round2.messages.filter((m) => m.from === 1).map((m) => toHex(m.share)),
    );
    const r3 = dkgRound3(round2.states[0]!, broadcasts, to(round2.messages, 1));
    expect(toHex(r3.key.secretShare)).toBe(toHex(results[0]!.key.secretShare));
  });

  it("complains about a tampered share, naming its sender", () => {
    const msgs = to(round2.messages, 1).map((m) =>
      m.from === 3 ? { ...m, share: bigintToScalar(scalarToBigint(m.share) + 1n) } : m,
    );
    const e = (() => {
      try {
        dkgRound3(round2.states[0]!, broadcasts, msgs);
      } catch (err) {
        return err;
      }
    })();
    expect(e).toBeInstanceOf(DkgComplaintError);
    expect((e as DkgComplaintError).accused).toBe(3);
  });

  it("complains about a bad proof of knowledge or a wrong commitment, naming the sender", () => {
    const badPok = broadcasts.map((b) =>
      b.from === 2 ? { ...b, proofOfKnowledge: b.proofOfKnowledge.map((x, i) => (i === 40 ? x ^ 1 : x)) } : b,
    );
    expect(() => dkgRound2(states[0]!, badPok)).toThrow(DkgComplaintError);
    const badCommit = broadcasts.map((b) =>
      b.from === 3 ? { ...b, commitment: [b.commitment[0]!, broadcasts[0]!.commitment[1]!] } : b,
    );
    // the PoK covers only C_0, so a swapped C_1 surfaces in round 3 as a share that does not match
    const r2 = run2(states, badCommit);
    expect(() => dkgRound3(r2.states[0]!, badCommit, to(r2.messages, 1))).toThrow(DkgComplaintError);
  });

  it("rejects missing, duplicate and foreign-epoch messages and out-of-order rounds", () => {
    expect(() => dkgRound2(states[0]!, broadcasts.slice(0, 2))).toThrow(DkgError);
    expect(() => dkgRound2(states[0]!, [...broadcasts, broadcasts[1]!])).toThrow(DkgComplaintError);
    expect(() =>
      dkgRound2(
        states[0]!,
        broadcasts.map((b) => ({ ...b, epoch: 4 })),
      ),
    ).toThrow(EpochMismatchError);
    expect(() => dkgRound3(states[0]!, broadcasts, [])).toThrow(DkgError);
    expect(() => dkgRound3(round2.states[0]!, broadcasts, to(round2.messages, 1).slice(1))).toThrow(
      DkgComplaintError,
    );
    expect(() => dkgRound1({ ...P, threshold: 4 }, 1)).toThrow(DkgError);
  });
});
