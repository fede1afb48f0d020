/**
 * tRPC init, context and procedures in one place. Transport only: authenticate, validate, call one core
 * function, map its errors. Mounted by the standalone hub (node:http) and by the portal (fetch adapter).
 */
import {
  type AuthenticatedMember,
  authenticateAdminRequest,
  authenticateDpoRequest,
  authenticateMemberRequest,
  type CoreDeps,
  type UnverifiedRequest,
} from "@relink/core";
import { type ErrorCode, RelinkError, type WireError } from "@relink/protocol";
import { initTRPC, TRPCError } from "@trpc/server";
import { allowed, type PortalSession } from "./access.ts";

export interface ApiContext {
  core: CoreDeps;
  /** The raw request as received, for signature verification. Absent for portal (session) calls. */
  request: UnverifiedRequest | undefined;
  /** Ed25519 public keys of network administrators. */
  adminKeys: Uint8Array[];
  /** Set only by the portal's mount: the signed-in person. Its calls are checked against PORTAL_ACCESS. */
  portal?: PortalSession;
  /** Ed25519 public keys of the network's data-protection officers (ADR 0040). */
  dpoKeys?: Uint8Array[];
  /** Ed25519 identity keys of the key holders: they read the member directory (ADR 0040). */
  keyHolderKeys?: Uint8Array[];
}

type TrpcCode = ConstructorParameters<typeof TRPCError>[0]["code"];

const HTTP_OF: Record<ErrorCode, TrpcCode> = {
  BAD_INPUT: "BAD_REQUEST",
  BAD_SIGNATURE: "UNAUTHORIZED",
  STALE_REQUEST: "UNAUTHORIZED",
  REPLAYED_REQUEST: "UNAUTHORIZED",
  UNKNOWN_KEY: "UNAUTHORIZED",
  MEMBER_SUSPENDED: "FORBIDDEN",
  FORBIDDEN: "FORBIDDEN",
  NO_CONSENT: "FORBIDDEN",
  QUOTA_EXCEEDED: "TOO_MANY_REQUESTS",
  NOT_FOUND: "NOT_FOUND",
  CONFLICT: "CONFLICT",
  WRONG_EPOCH: "PRECONDITION_FAILED",
  TOO_FEW_HOLDERS: "SERVICE_UNAVAILABLE",
  PAYLOAD_TOO_LARGE: "PAYLOAD_TOO_LARGE",
  UNAVAILABLE: "SERVICE_UNAVAILABLE",
  INTERNAL: "INTERNAL_SERVER_ERROR",
};

/** The one place domain errors become transport errors. */
export function toTrpcError(error: unknown): TRPCError {
  if (error instanceof TRPCError) return error;
  if (error instanceof RelinkError)
    return new TRPCError({ code: HTTP_OF[error.code], message: error.message, cause: error });
  // The repositories' typed errors (by name: api never imports db) become wire errors a client can act on.
  const named = error as { name?: string; message?: string };
  if (named?.name === "ConflictError")
    return toTrpcError(new RelinkError("CONFLICT", named.message ?? "conflict"));
  if (named?.name === "NotFoundError")
    return toTrpcError(new RelinkError("NOT_FOUND", named.message ?? "not found"));
  return new TRPCError({ code: "INTERNAL_SERVER_ERROR", message: "internal error", cause: error });
}

function wireErrorOf(error: TRPCError): WireError | undefined {
  const cause = error.cause;
  if (cause instanceof RelinkError) return cause.toWire();
  if (error.code === "BAD_REQUEST") {
    // Invalid input: name the first offending field by its schema path (e.g. `upserts.3.tag`).
    const issue = (cause as { issues?: { path?: PropertyKey[]; message?: string }[] } | undefined)
      ?.issues?.[0];
    const field = issue?.path?.length ? issue.path.map(String).join(".") : undefined;
    const message = issue?.message ? (field ? `${field}: ${issue.message}` : issue.message) : error.message;
    return { code: "BAD_INPUT", message, ...(field ? { field } : {}) };
  }
  return undefined;
}

const t = initTRPC.context<ApiContext>().create({
  errorFormatter({ shape, error }) {
    // Internal errors never leak their message (it may carry data); typed errors carry their wire form.
    const relink = wireErrorOf(error);
    const message = error.code === "INTERNAL_SERVER_ERROR" ? "internal error" : shape.message;
    return { ...shape, message, data: { ...shape.data, stack: undefined, relink } };
  },
});

export const router = t.router;

const mapErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok) {
    // tRPC wraps what a resolver or middleware throws in an INTERNAL_SERVER_ERROR whose cause is the
    // original error; its own refusals (BAD_REQUEST for input that fails the schema, …) keep their code.
    const e = result.error;
    throw toTrpcError(e.code === "INTERNAL_SERVER_ERROR" && e.cause ? e.cause : e);
  }
  return result;
});

/**
 * Portal sessions reach only the procedures PORTAL_ACCESS lists, with one of its roles; `portal.*`
 * procedures need a session. Member-scoped checks happen where the member is known (memberProcedure).
 */
const portalGate = t.middleware(({ ctx, path, next }) => {
  if (!ctx.portal) {
    if (path.startsWith("portal."))
      throw new RelinkError("FORBIDDEN", "this procedure needs a portal session");
    return next();
  }
  if (!allowed(ctx.portal, path)) {
    throw new RelinkError("FORBIDDEN", `your roles do not allow ${path}`);
  }
  return next();
});

export const publicProcedure = t.procedure.use(mapErrors).use(portalGate);

function requireRequest(ctx: ApiContext): UnverifiedRequest {
  if (!ctx.request) throw new RelinkError("BAD_SIGNATURE", "this procedure needs a signed request");
  return ctx.request;
}

/** A procedure callable only with a request signed by an active member key. */
export const memberProcedure = publicProcedure.use(async ({ ctx, path, next }) => {
  const who: AuthenticatedMember = await authenticateMemberRequest(ctx.core, requireRequest(ctx));
  // Through the portal, the person must hold the role for the member whose key signed the request.
  if (ctx.portal && !allowed(ctx.portal, path, who.member.id)) {
    throw new RelinkError("FORBIDDEN", `your roles do not allow ${path} for this member`);
  }
  return next({ ctx: { ...ctx, who } });
});

/** A procedure for a signed-in portal user (session, no member signature), gated by PORTAL_ACCESS. */
export const sessionProcedure = publicProcedure.use(({ ctx, next }) => {
  if (!ctx.portal) throw new RelinkError("FORBIDDEN", "this procedure needs a portal session");
  return next({ ctx: { ...ctx, portal: ctx.portal } });
});

/** A procedure callable only with a request signed by a network administrator's key. */
export const adminProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const admin = await authenticateAdminRequest(ctx.core, requireRequest(ctx), ctx.adminKeys);
  return next({ ctx: { ...ctx, admin } });
});

/**
 * A procedure callable only by a DPO: a member's DPO key, or a network DPO key (ADR 0040). Through the
 * portal the person must also hold the DPO role for what the key speaks for: a member DPO key needs a grant
 * for that member, a network DPO key a network grant (ADR 0063).
 */
export const dpoProcedure = publicProcedure.use(async ({ ctx, path, next }) => {
  const dpo = await authenticateDpoRequest(ctx.core, requireRequest(ctx), ctx.dpoKeys ?? []);
  if (ctx.portal && !allowed(ctx.portal, path, dpo.scope === "member" ? dpo.member.id : null)) {
    throw new RelinkError("FORBIDDEN", `your roles do not allow ${path} with this DPO key`);
  }
  return next({ ctx: { ...ctx, dpo } });
});

/**
 * The network's own readers (ADR 0040): administrators, network DPOs and key holders (the member directory
 * is what key holders check member signatures against). Members are not among them.
 */
export const networkReaderProcedure = publicProcedure.use(async ({ ctx, next }) => {
  const keys = [...ctx.adminKeys, ...(ctx.dpoKeys ?? []), ...(ctx.keyHolderKeys ?? [])];
  const reader = await authenticateAdminRequest(ctx.core, requireRequest(ctx), keys);
  return next({ ctx: { ...ctx, reader } });
});
