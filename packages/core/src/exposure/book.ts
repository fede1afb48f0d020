/**
 * Lenders' book declarations (threat T4, issue 15.4: "k-threshold beaten by two colluding lenders"). Before
 * registering subjects a lender declares how many it holds, signed with its request key
 * (`exposureBookMessage`); the hub keeps the signature, refuses registrations that would exceed the
 * declared count, and refuses a declaration below what is already registered. A lender thereby commits,
 * answerably, to the size of its book: registering a tag it does not hold costs a slot of a signed,
 * audited figure. It does not prove the lender holds any particular subject (see docs/threat-model.md T4).
 */
import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256 } from "@noble/hashes/sha2.js";
import { countExposureSubjects, findExposureBook, upsertExposureBook } from "@relink/db";
import { exposureBookMessage, fromBase64Url, RelinkError } from "@relink/protocol";
import type { AuthenticatedMember } from "../auth.ts";
import type { CoreDeps } from "../context.ts";
import { deny } from "../denials.ts";
import { exposurePolicy } from "./policy.ts";
import { requireLender } from "./subjects.ts";

export async function declareExposureBook(
  deps: CoreDeps,
  who: AuthenticatedMember,
  input: { epoch: number; declaredSubjects: number; signature: string },
): Promise<{ declaredSubjects: number; registered: number; receipt: unknown }> {
  await requireLender(deps, who, "exposure.capability");
  const base = { inputSize: input.declaredSubjects };
  if (input.epoch !== deps.policy.epoch) {
    await deny(
      deps,
      who,
      new RelinkError("WRONG_EPOCH", `book of epoch ${input.epoch}, network epoch ${deps.policy.epoch}`),
      { ...base, rule: "exposure.epoch" },
    );
  }
  const message = exposureBookMessage(
    { networkId: deps.policy.networkId, memberId: who.member.id },
    { epoch: input.epoch, declaredSubjects: input.declaredSubjects },
  );
  let valid = false;
  try {
    valid = ed25519.verify(fromBase64Url(input.signature), message, who.key.publicKey);
  } catch {
    valid = false;
  }
  if (!valid) {
    await deny(
      deps,
      who,
      new RelinkError("BAD_INPUT", "signature: not the member's signature over this declaration", {
        field: "signature",
      }),
      { ...base, rule: "exposure.book_signature" },
    );
  }
  const at = deps.clock();
  const registered = await countExposureSubjects(deps.db, who.member.id);
  if (input.declaredSubjects < registered) {
    await deny(
      deps,
      who,
      new RelinkError(
        "BAD_INPUT",
        `declaredSubjects: ${registered} subjects are registered; unregister before declaring fewer`,
        { field: "declaredSubjects" },
      ),
      { ...base, rule: "exposure.book_below_registered" },
    );
  }
  const audit = await deps.db.transaction().execute(async (trx) => {
    await upsertExposureBook(trx, {
      memberId: who.member.id,
      epoch: input.epoch,
      declaredSubjects: input.declaredSubjects,
      signature: fromBase64Url(input.signature),
      keyFingerprint: who.key.fingerprint,
      declaredAt: at,
    });
    return deps.audit.append(
      trx,
      {
        type: "exposure.book_declared",
        memberId: who.member.id,
        inputSize: input.declaredSubjects,
        outputCount: registered,
        decision: { allowed: true, rules: ["exposure.book_declare"] },
        requestHash: who.requestHash,
        // The signed statement's hash: the leaf pins exactly what the lender signed.
        responseHash: sha256(message),
      },
      at,
    );
  });
  deps.log.info("exposure.book_declared", {
    member: who.member.slug,
    declared: input.declaredSubjects,
    registered,
  });
  return { declaredSubjects: input.declaredSubjects, registered, receipt: await deps.audit.receipt(audit) };
}

/** The most subjects the lender may have registered, or undefined when no declaration is required. */
export async function declaredBookCap(deps: CoreDeps, who: AuthenticatedMember): Promise<number | undefined> {
  const book = await findExposureBook(deps.db, who.member.id);
  if (book) return book.declaredSubjects;
  return exposurePolicy(deps).requireBookDeclaration ? 0 : undefined;
}
